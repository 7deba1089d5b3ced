import * as tf from '@tensorflow/tfjs-core';
import type { AttackContext } from './types.js';

/**
 * The decision-only building blocks of HopSkipJumpAttack (Chen, Jordan & Wainwright 2020, "HopSkipJumpAttack: A
 * Query-Efficient Decision-Based Attack"): the decision oracle phi (is a point adversarial?) queried in
 * chunks, the binary search to the boundary (Algorithm 1), and the starting points. Points are flat NHWC rows;
 * `rows[k]` names the batch example that point k belongs to.
 */
export type SearchNorm = 'l2' | 'linf';

/** Input values per model call: large enough to amortise the per-call cost, small enough for any input size. */
const CHUNK_VALUES = 1 << 20;

/** phi for each point: 1 where it meets the goal of its example. Queries the model in chunks. */
export function decide(ctx: AttackContext, points: Float32Array, rows: Int32Array): Uint8Array {
  const shape = ctx.classifier.inputShape;
  const dim = shape[0] * shape[1] * shape[2];
  const perCall = Math.max(1, Math.floor(CHUNK_VALUES / dim));
  const out = new Uint8Array(rows.length);
  for (let start = 0; start < rows.length; start += perCall) {
    const m = Math.min(perCall, rows.length - start);
    tf.tidy(() => {
      const logits = ctx.logits(tf.tensor4d(points.subarray(start * dim, (start + m) * dim), [m, ...shape]));
      out.set(ctx.isAdversarial(logits, rows.subarray(start, start + m)), start);
    });
  }
  return out;
}

/** ||a - b|| in the norm. */
export function distance(a: Float32Array, b: Float32Array, norm: SearchNorm): number {
  let acc = 0;
  for (let j = 0; j < a.length; j++) {
    const d = Math.abs(a[j] - b[j]);
    if (norm === 'l2') acc += d * d;
    else if (d > acc) acc = d;
  }
  return norm === 'l2' ? Math.sqrt(acc) : acc;
}

/** Row i of a flat batch. */
export function rowOf(values: Float32Array, i: number, dim: number): Float32Array {
  return values.subarray(i * dim, (i + 1) * dim);
}

/**
 * The paper's projection onto the segment (L2: (1 - alpha) x + alpha p) or onto the Linf ball of radius alpha
 * around x (clip(p, x - alpha, x + alpha)).
 */
function projectInto(
  out: Float32Array,
  x: Float32Array,
  p: Float32Array,
  alpha: number,
  norm: SearchNorm,
): void {
  if (norm === 'l2') {
    for (let j = 0; j < out.length; j++) out[j] = (1 - alpha) * x[j] + alpha * p[j];
  } else {
    for (let j = 0; j < out.length; j++) out[j] = Math.min(Math.max(p[j], x[j] - alpha), x[j] + alpha);
  }
}

export interface BoundaryPoints {
  /** The boundary points, on the adversarial side, one per input point. */
  points: Float32Array;
  /** Distance of each input point (before the search) from its clean example: the paper's d_t for delta. */
  startDistance: Float64Array;
}

/** A binary search never needs more halvings than a double has bits. */
const MAX_HALVINGS = 64;

/**
 * Algorithm 1 (BIN-SEARCH), for many points at once: between the clean example x and the adversarial point,
 * halve [low, high] until high - low <= theta (L2: over the blend factor in [0, 1]; Linf: over the radius in [0,
 * ||p - x||_inf], threshold min(theta * ||p - x||_inf, theta)) and return the projection at `high`, which is
 * adversarial. Each point stops querying once its own interval is small enough.
 */
export function binarySearch(
  ctx: AttackContext,
  x: Float32Array,
  adversarial: Float32Array,
  rows: Int32Array,
  norm: SearchNorm,
  theta: number,
): BoundaryPoints {
  const m = rows.length;
  const dim = x.length / ctx.x.shape[0];
  const startDistance = new Float64Array(m);
  const lows = new Float64Array(m);
  const highs = new Float64Array(m);
  const thresholds = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const d = distance(rowOf(x, rows[k], dim), rowOf(adversarial, k, dim), norm);
    startDistance[k] = d;
    highs[k] = norm === 'l2' ? 1 : d;
    thresholds[k] = norm === 'l2' ? theta : Math.min(d * theta, theta);
  }
  for (let round = 0; round < MAX_HALVINGS; round++) {
    const pending: number[] = [];
    for (let k = 0; k < m; k++) if (highs[k] - lows[k] > thresholds[k]) pending.push(k);
    if (pending.length === 0) break;
    const mids = pending.map((k) => (lows[k] + highs[k]) / 2);
    const probes = new Float32Array(pending.length * dim);
    pending.forEach((k, q) =>
      projectInto(rowOf(probes, q, dim), rowOf(x, rows[k], dim), rowOf(adversarial, k, dim), mids[q], norm),
    );
    const phi = decide(
      ctx,
      probes,
      Int32Array.from(pending, (k) => rows[k]),
    );
    pending.forEach((k, q) => {
      if (phi[q] === 1) highs[k] = mids[q];
      else lows[k] = mids[q];
    });
  }
  const points = new Float32Array(m * dim);
  for (let k = 0; k < m; k++) {
    projectInto(rowOf(points, k, dim), rowOf(x, rows[k], dim), rowOf(adversarial, k, dim), highs[k], norm);
  }
  return { points, startDistance };
}

export interface StartingPoints {
  /** An adversarial starting point per example (the clean input where there is none). */
  points: Float32Array;
  /** The examples that have a starting point and are not already adversarial when clean. */
  rows: Int32Array;
}

/** Uniform noise draws per example before giving up on noise (Foolbox's blended-noise attack tries 1,000). */
const MAX_NOISE_DRAWS = 1000;
/** Input values drawn per round of the noise search (bounds its memory). */
const NOISE_ROUND_VALUES = 1 << 22;
/** Tolerance of the blend search between the clean input and the noise (the paper's code). */
const BLEND_TOLERANCE = 0.001;

/**
 * Starting points as in the paper: untargeted, uniform noise that is adversarial, pulled towards x by a binary
 * search over the blend (1 - a) x + a noise; targeted, an example of the target class (the closest one in the
 * batch; the paper starts from a target image), else noise searched for the target. Examples for which noise
 * fails fall back to the closest batch example that meets their goal. Examples adversarial when clean get none
 * (they are done).
 */
export function startingPoints(ctx: AttackContext, x: Float32Array, norm: SearchNorm): StartingPoints {
  const n = ctx.x.shape[0];
  const dim = x.length / n;
  const points = Float32Array.from(x);
  const found = new Uint8Array(n);
  const { cleanAdversarial, pool } = batchDecisions(ctx);
  const needed = range(n).filter((i) => cleanAdversarial[i] === 0);
  const fromBatch = (i: number): void => {
    let bestJ = -1;
    let bestD = Infinity;
    pool[i].forEach((ok, j) => {
      const d = ok === 1 ? distance(rowOf(x, i, dim), rowOf(x, j, dim), norm) : Infinity;
      if (d < bestD) [bestJ, bestD] = [j, d];
    });
    if (bestJ >= 0) {
      points.set(rowOf(x, bestJ, dim), i * dim);
      found[i] = 1;
    }
  };
  if (ctx.targets) needed.forEach(fromBatch);
  const noiseRows = Int32Array.from(needed.filter((i) => found[i] === 0));
  const noise = noiseSearch(ctx, noiseRows, dim);
  const blended = blendSearch(ctx, x, noise.points, Int32Array.from(noise.rows));
  noise.rows.forEach((i, q) => {
    points.set(rowOf(blended, q, dim), i * dim);
    found[i] = 1;
  });
  needed.filter((i) => found[i] === 0).forEach(fromBatch);
  return { points, rows: Int32Array.from(needed.filter((i) => found[i] === 1)) };
}

/** One query per batch example: which are adversarial when clean, and for each i, which batch examples meet i's goal. */
function batchDecisions(ctx: AttackContext): { cleanAdversarial: Uint8Array; pool: Uint8Array[] } {
  const n = ctx.x.shape[0];
  const logits = ctx.logits(ctx.x);
  try {
    const cleanAdversarial = ctx.isAdversarial(logits, Int32Array.from(range(n)));
    const pool = range(n).map((i) => ctx.isAdversarial(logits, new Int32Array(n).fill(i)));
    return { cleanAdversarial, pool };
  } finally {
    logits.dispose();
  }
}

/** Uniform noise in the bounds until adversarial, for each example in `rows`: 1, 2, 4, ... draws per round. */
function noiseSearch(
  ctx: AttackContext,
  rows: Int32Array,
  dim: number,
): { points: Float32Array; rows: number[] } {
  const [lo, hi] = ctx.bounds;
  const found = new Map<number, Float32Array>();
  let pending = Array.from(rows);
  let used = 0;
  for (let perRound = 1; pending.length > 0 && used < MAX_NOISE_DRAWS; perRound *= 2) {
    const fits = Math.max(1, Math.floor(NOISE_ROUND_VALUES / (pending.length * dim)));
    const draws = Math.min(perRound, MAX_NOISE_DRAWS - used, fits);
    const noise = new Float32Array(pending.length * draws * dim);
    for (let j = 0; j < noise.length; j++) noise[j] = lo + (hi - lo) * ctx.rng.next();
    const owners = Int32Array.from(pending.flatMap((i) => new Array<number>(draws).fill(i)));
    const phi = decide(ctx, noise, owners);
    pending.forEach((i, q) => {
      const first = phi.subarray(q * draws, (q + 1) * draws).indexOf(1);
      if (first >= 0) found.set(i, rowOf(noise, q * draws + first, dim).slice());
    });
    pending = pending.filter((i) => !found.has(i));
    used += draws;
  }
  const order = Array.from(rows).filter((i) => found.has(i));
  const points = new Float32Array(order.length * dim);
  order.forEach((i, q) => points.set(found.get(i) ?? [], q * dim));
  return { points, rows: order };
}

/** The smallest blend (1 - a) x + a noise that stays adversarial, by bisection on a to BLEND_TOLERANCE. */
function blendSearch(
  ctx: AttackContext,
  x: Float32Array,
  noise: Float32Array,
  rows: Int32Array,
): Float32Array {
  const m = rows.length;
  const dim = x.length / ctx.x.shape[0];
  const lows = new Float64Array(m);
  const highs = new Float64Array(m).fill(1);
  const blend = (out: Float32Array, k: number, a: number): void => {
    const xi = rowOf(x, rows[k], dim);
    const nk = rowOf(noise, k, dim);
    for (let j = 0; j < dim; j++) out[j] = (1 - a) * xi[j] + a * nk[j];
  };
  // Every interval starts as [0, 1] and halves each round, so one width stands for all.
  while (m > 0 && highs[0] - lows[0] > BLEND_TOLERANCE) {
    const mids = Float64Array.from(range(m), (k) => (lows[k] + highs[k]) / 2);
    const probes = new Float32Array(m * dim);
    for (let k = 0; k < m; k++) blend(rowOf(probes, k, dim), k, mids[k]);
    const phi = decide(ctx, probes, rows);
    for (let k = 0; k < m; k++) {
      if (phi[k] === 1) highs[k] = mids[k];
      else lows[k] = mids[k];
    }
  }
  const out = new Float32Array(m * dim);
  for (let k = 0; k < m; k++) blend(rowOf(out, k, dim), k, highs[k]);
  return out;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
