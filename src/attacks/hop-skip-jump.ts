import * as tf from '@tensorflow/tfjs-core';
import { field, type Params } from '../util/schema.js';
import {
  binarySearch,
  decide,
  distance,
  rowOf,
  startingPoints,
  type BoundaryPoints,
  type SearchNorm,
} from './hop-skip-jump-search.js';
import { defineAttack, type AttackContext } from './types.js';

const STEPSIZE_SEARCHES = ['geometric_progression', 'grid_search'] as const;

const schema = {
  steps: field.integer({
    default: 64,
    min: 1,
    description: 'Iterations: gradient-direction estimate, step, binary search back to the boundary.',
  }),
  initialNumEvals: field.integer({
    default: 100,
    min: 1,
    description:
      'Queries of the first gradient-direction estimate; iteration t uses initialNumEvals * sqrt(t).',
  }),
  maxNumEvals: field.integer({
    default: 10000,
    min: 1,
    description: 'Most queries of one gradient-direction estimate.',
  }),
  stepsizeSearch: field.choice(STEPSIZE_SEARCHES, {
    default: 'geometric_progression',
    description:
      "'geometric_progression': from ||x_t - x|| / sqrt(t), halve until adversarial; 'grid_search': the best " +
      'of 20 log-spaced steps after a binary search each.',
  }),
  gamma: field.number({
    default: 1,
    min: 0,
    exclusiveMin: true,
    description:
      'Binary-search threshold theta = gamma / d^1.5 (L2) or gamma / d^2 (Linf), d the input size.',
  }),
};

/**
 * HopSkipJumpAttack (Chen, Jordan & Wainwright 2020, "HopSkipJumpAttack: A Query-Efficient Decision-Based
 * Attack"), L2 and Linf, untargeted and targeted. Decision-based: it only asks whether a point is adversarial
 * (the arg-max of the logits), never for scores or gradients. From an adversarial starting point (uniform noise
 * blended towards x; targeted: an example of the target class), each iteration t: binary search to the
 * boundary (threshold theta); estimate the gradient direction there from B_t = min(initialNumEvals * sqrt(t),
 * maxNumEvals) random unit directions of radius delta_t (0.1 of the input range at t = 1, then sqrt(d) theta
 * d_{t-1} for L2 and d theta d_{t-1} for Linf, d_{t-1} the distance before the last binary search), with the
 * paper's baseline subtraction; step along it (Linf: its sign) with a geometric or grid step-size search. The
 * norm is the constraint. Returns the closest boundary point found per example (the clean input where no
 * starting point was found).
 *
 * Parameters (Foolbox's defaults): steps 64, initialNumEvals 100, maxNumEvals 10000, stepsizeSearch
 * 'geometric_progression', gamma 1.
 *
 * @example runAttack(model, hopSkipJump, { x, labels, norm: 'l2', eps: [0.5, 1, 2], params: { steps: 40 } })
 */
export const hopSkipJump = defineAttack({
  name: 'hop-skip-jump',
  title: 'HopSkipJumpAttack (Chen et al. 2020), decision-based, L2 / Linf',
  norms: ['l2', 'linf'],
  budget: 'minimal',
  targeted: true,
  schema,
  run: (ctx, p) => hopSkipJumpAttack(ctx, p),
});

type HsjParams = Params<typeof schema>;

/** The grid of step sizes, as fractions of the current distance (the paper's code: logspace(-4, 0, 20)). */
const GRID = Array.from({ length: 20 }, (_, g) => 10 ** (-4 + (4 * g) / 19));

/** Input values per group of examples in the grid search (bounds its memory). */
const GRID_VALUES = 1 << 22;

async function hopSkipJumpAttack(ctx: AttackContext, p: HsjParams): Promise<tf.Tensor4D> {
  const n = ctx.x.shape[0];
  const norm: SearchNorm = ctx.norm === 'linf' ? 'linf' : 'l2';
  const x = Float32Array.from(ctx.x.dataSync());
  const dim = x.length / n;
  const best = Float32Array.from(x);
  const start = startingPoints(ctx, x, norm);
  const rows = start.rows;
  const m = rows.length;
  const theta = norm === 'l2' ? p.gamma / (dim * Math.sqrt(dim)) : p.gamma / (dim * dim);
  const bestDistance = new Float64Array(m).fill(Infinity);
  const startPoints = new Float32Array(m * dim);
  rows.forEach((i, k) => startPoints.set(rowOf(start.points, i, dim), k * dim));
  let boundary = binarySearch(ctx, x, startPoints, rows, norm, theta);
  let dist = keepClosest(boundary.points, x, rows, norm, best, bestDistance);
  for (let t = 1; t <= p.steps && m > 0; t++) {
    const [lo, hi] = ctx.bounds;
    const previous = boundary.startDistance;
    const delta = Float64Array.from(previous, (d) =>
      t === 1 ? 0.1 * (hi - lo) : (norm === 'l2' ? Math.sqrt(dim) : dim) * theta * d,
    );
    const evals = Math.min(Math.floor(p.initialNumEvals * Math.sqrt(t)), p.maxNumEvals);
    const direction = estimateGradient(ctx, boundary.points, rows, delta, evals, norm);
    if (norm === 'linf') for (let j = 0; j < direction.length; j++) direction[j] = Math.sign(direction[j]);
    boundary =
      p.stepsizeSearch === 'geometric_progression'
        ? geometricStep(ctx, x, boundary.points, direction, rows, dist, t, norm, theta)
        : gridStep(ctx, x, boundary, direction, rows, dist, norm, theta);
    dist = keepClosest(boundary.points, x, rows, norm, best, bestDistance);
    await ctx.yieldStep(t, p.steps);
  }
  return tf.tensor4d(best, ctx.x.shape);
}

/** Distances of the boundary points; each example keeps the closest point it has reached. */
function keepClosest(
  points: Float32Array,
  x: Float32Array,
  rows: Int32Array,
  norm: SearchNorm,
  best: Float32Array,
  bestDistance: Float64Array,
): Float64Array {
  const dim = points.length / Math.max(rows.length, 1);
  return Float64Array.from(rows, (i, k) => {
    const d = distance(rowOf(points, k, dim), rowOf(x, i, dim), norm);
    if (d < bestDistance[k]) {
      bestDistance[k] = d;
      best.set(rowOf(points, k, dim), i * dim);
    }
    return d;
  });
}

/**
 * The paper's estimate of the gradient direction at boundary points (eq. 16 with the baseline of eq. 17): B
 * random directions u_b (Gaussian for L2, uniform in [-1, 1]^d for Linf, scaled to unit L2 norm), phi at
 * clip(x_t + delta u_b) as +-1, minus its mean unless all agree, averaged against the (clipped) directions and
 * normalised. The B * m points are queried in chunks; only running sums are kept.
 */
function estimateGradient(
  ctx: AttackContext,
  points: Float32Array,
  rows: Int32Array,
  delta: Float64Array,
  evals: number,
  norm: SearchNorm,
): Float32Array {
  const m = rows.length;
  const dim = points.length / m;
  const [lo, hi] = ctx.bounds;
  const weighted = new Float32Array(m * dim);
  const plain = new Float32Array(m * dim);
  const votes = new Float64Array(m);
  const perChunk = Math.max(1, Math.floor((1 << 20) / dim));
  const total = m * evals;
  const probes = new Float32Array(Math.min(perChunk, total) * dim);
  const u = new Float64Array(dim);
  for (let first = 0; first < total; first += perChunk) {
    const size = Math.min(perChunk, total - first);
    const owners = new Int32Array(size);
    for (let r = 0; r < size; r++) {
      // Example-major order: the evals of example k are the pairs k * evals .. (k + 1) * evals - 1.
      const k = Math.floor((first + r) / evals);
      owners[r] = rows[k];
      let sum = 0;
      for (let j = 0; j < dim; j++) {
        u[j] = norm === 'l2' ? ctx.rng.normal() : 2 * ctx.rng.next() - 1;
        sum += u[j] * u[j];
      }
      const scale = delta[k] / (Math.sqrt(sum) + 1e-12);
      const base = k * dim;
      for (let j = 0; j < dim; j++) {
        probes[r * dim + j] = Math.min(hi, Math.max(lo, points[base + j] + scale * u[j]));
      }
    }
    const phi = decide(ctx, probes.subarray(0, size * dim), owners);
    for (let r = 0; r < size; r++) {
      const k = Math.floor((first + r) / evals);
      const f = phi[r] === 1 ? 1 : -1;
      votes[k] += f;
      const base = k * dim;
      for (let j = 0; j < dim; j++) {
        // The direction actually taken after clipping, in units of delta.
        const v = (probes[r * dim + j] - points[base + j]) / delta[k];
        weighted[base + j] += f * v;
        plain[base + j] += v;
      }
    }
  }
  for (let k = 0; k < m; k++) {
    const mean = votes[k] / evals;
    const g = rowOf(weighted, k, dim);
    // Baseline subtraction: sum (f - mean f) v = sum f v - mean f * sum v, unless every f agrees.
    if (Math.abs(mean) !== 1) {
      const v = rowOf(plain, k, dim);
      for (let j = 0; j < dim; j++) g[j] -= mean * v[j];
    }
    let sq = 0;
    for (let j = 0; j < dim; j++) sq += g[j] * g[j];
    const len = Math.sqrt(sq);
    if (len > 0) for (let j = 0; j < dim; j++) g[j] /= len;
  }
  return weighted;
}

/** Clipped step from each boundary point along its update direction, one size per point. */
function stepped(
  ctx: AttackContext,
  points: Float32Array,
  update: Float32Array,
  sizes: ArrayLike<number>,
  which: readonly number[],
  dim: number,
): Float32Array {
  const [lo, hi] = ctx.bounds;
  const out = new Float32Array(which.length * dim);
  which.forEach((k, q) => {
    for (let j = 0; j < dim; j++) {
      out[q * dim + j] = Math.min(hi, Math.max(lo, points[k * dim + j] + sizes[q] * update[k * dim + j]));
    }
  });
  return out;
}

/** The most halvings of a step size (a float32 step this small no longer moves the point). */
const MAX_STEP_HALVINGS = 64;

/**
 * Geometric step-size search: xi_t = ||x_t - x|| / sqrt(t), halved until x_t + xi_t v_t is adversarial; then
 * the binary search back to the boundary.
 */
function geometricStep(
  ctx: AttackContext,
  x: Float32Array,
  points: Float32Array,
  update: Float32Array,
  rows: Int32Array,
  dist: Float64Array,
  t: number,
  norm: SearchNorm,
  theta: number,
): BoundaryPoints {
  const m = rows.length;
  const dim = points.length / m;
  const sizes = Float64Array.from(dist, (d) => d / Math.sqrt(t));
  const next = Float32Array.from(points);
  let pending = Array.from({ length: m }, (_, k) => k);
  for (let halving = 0; pending.length > 0 && halving < MAX_STEP_HALVINGS; halving++) {
    const proposals = stepped(
      ctx,
      points,
      update,
      pending.map((k) => sizes[k]),
      pending,
      dim,
    );
    const phi = decide(
      ctx,
      proposals,
      Int32Array.from(pending, (k) => rows[k]),
    );
    pending.forEach((k, q) => {
      if (phi[q] === 1) next.set(rowOf(proposals, q, dim), k * dim);
      else sizes[k] /= 2;
    });
    pending = pending.filter((_, q) => phi[q] === 0);
  }
  return binarySearch(ctx, x, next, rows, norm, theta);
}

/**
 * Grid step-size search (the paper's code): steps of logspace(-4, 0, 20) * ||x_t - x||; each adversarial
 * proposal is searched back to the boundary and the closest result wins. Examples with no adversarial
 * proposal keep their point.
 */
function gridStep(
  ctx: AttackContext,
  x: Float32Array,
  current: BoundaryPoints,
  update: Float32Array,
  rows: Int32Array,
  dist: Float64Array,
  norm: SearchNorm,
  theta: number,
): BoundaryPoints {
  const m = rows.length;
  const dim = current.points.length / m;
  const points = Float32Array.from(current.points);
  const startDistance = Float64Array.from(current.startDistance);
  const group = Math.max(1, Math.floor(GRID_VALUES / (GRID.length * dim)));
  for (let first = 0; first < m; first += group) {
    const members = Array.from({ length: Math.min(group, m - first) }, (_, q) => first + q);
    const owners = members.flatMap((k) => GRID.map(() => k));
    const proposals = stepped(
      ctx,
      current.points,
      update,
      owners.map((k, q) => GRID[q % GRID.length] * dist[k]),
      owners,
      dim,
    );
    const phi = decide(
      ctx,
      proposals,
      Int32Array.from(owners, (k) => rows[k]),
    );
    const kept = owners.map((_, q) => q).filter((q) => phi[q] === 1);
    if (kept.length === 0) continue;
    const candidates = new Float32Array(kept.length * dim);
    kept.forEach((q, c) => candidates.set(rowOf(proposals, q, dim), c * dim));
    const searched = binarySearch(
      ctx,
      x,
      candidates,
      Int32Array.from(kept, (q) => rows[owners[q]]),
      norm,
      theta,
    );
    const closest = new Float64Array(m).fill(Infinity);
    kept.forEach((q, c) => {
      const k = owners[q];
      const d = distance(rowOf(searched.points, c, dim), rowOf(x, rows[k], dim), norm);
      if (d < closest[k]) {
        closest[k] = d;
        points.set(rowOf(searched.points, c, dim), k * dim);
        startDistance[k] = searched.startDistance[c];
      }
    });
  }
  return { points, startDistance };
}
