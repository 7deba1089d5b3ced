import * as tf from '@tensorflow/tfjs-core';
import { allRows } from '../util/rows.js';
import { field, type Params } from '../util/schema.js';
import { projectOntoHyperplaneBox } from './fab-projection.js';
import { classLogit } from './losses.js';
import { batchNorm } from './norms.js';
import { defineAttack, type AttackContext, type Norm } from './types.js';

/** The parameters of FAB and FAB-T, with the defaults of the paper and AutoAttack. */
export const fabFields = {
  steps: field.integer({ default: 100, min: 1, description: 'Iterations of each run (restart or target).' }),
  restarts: field.integer({
    default: 1,
    min: 1,
    description:
      'Runs per example; those after the first start at a random point at radius min(eps, best) / 2.',
  }),
  alphaMax: field.number({
    default: 0.1,
    min: 0,
    max: 1,
    description: 'alpha_max: the largest weight of the step from the original point (the bias towards it).',
  }),
  eta: field.number({
    default: 1.05,
    min: 1,
    description: 'eta: both projection steps are extended by this factor to cross the linearised boundary.',
  }),
  beta: field.number({
    default: 0.9,
    min: 0,
    max: 1,
    exclusiveMin: true,
    description: 'beta: after a success the iterate moves back to x0 + beta * (x - x0).',
  }),
  finalSearch: field.integer({
    default: 3,
    min: 0,
    description: 'Steps of the final search on the segment from the original point to the best adversarial.',
  }),
};

const schema = {
  ...fabFields,
  candidates: field.integer({
    default: 10,
    min: 2,
    description: 'Untargeted: the classes linearised, the top-k by clean logit, the true class included.',
  }),
};

export type FabParams = Params<typeof fabFields>;

/**
 * Fast Adaptive Boundary attack (Croce & Hein 2020, "Minimally distorted adversarial examples with a fast
 * adaptive boundary attack", Algorithm 1), Linf / L2 / L1, as the authors' reference and AutoAttack run it.
 * Each iteration linearises the classifier at the iterate x (f_k = Z_k - Z_y and its gradient w_k, like
 * DeepFool) and picks the class whose linearised boundary is closest, l = argmin_k |f_k| / ||w_k||_dual. Both x
 * and the original point x0 are projected onto that hyperplane within the box of the bounds (steps d and d0,
 * see fab-projection.ts); the next iterate is the biased combination
 *   x <- clip((1 - alpha)(x + eta d) + alpha (x0 + eta d0)),  alpha = min(||d|| / (||d|| + ||d0||), alphaMax),
 * which stays close to x0. When x is adversarial it is kept if it is the closest so far and moved back to
 * x0 + beta (x - x0). Restarts after the first start from x0 plus a random point of the sphere of radius
 * min(eps, best) / 2. A final search (the authors' original code's, off by default there and absent from
 * AutoAttack: a few regula falsi steps on the logit margin along the segment from x0 to the best adversarial)
 * moves it closer to x0. Examples already fooled within eps skip the later restarts. Returns the closest
 * adversarial found per example, or the clean input.
 *
 * Untargeted, one gradient per candidate class and step (the paper linearises every class; the top 10 by
 * clean logit cover MNIST and CIFAR-10 and bound the cost with more classes); with a targeted goal, the
 * target is the class linearised (one gradient per step). FAB-T (fab-targeted.ts) is the cheap untargeted
 * variant that AutoAttack runs.
 *
 * Parameters (defaults as the paper and AutoAttack): steps 100, restarts 1, alphaMax 0.1, eta 1.05, beta 0.9;
 * finalSearch 3 (the original code's number of steps; 0 runs exactly as AutoAttack), candidates 10.
 *
 * @example runAttack(model, fab, { x, labels, norm: 'l2', eps: 1.5, params: { restarts: 3 } })
 */
export const fab = defineAttack({
  name: 'fab',
  title: 'Fast adaptive boundary attack (Croce & Hein 2020): minimal perturbation, Linf / L2 / L1',
  norms: ['linf', 'l2', 'l1'],
  budget: 'fixed',
  targeted: true,
  schema,
  run: (ctx, p) =>
    fabAttack(ctx, p, (clean) => {
      const linearise: Linearisation = ctx.targets
        ? { targets: ctx.targets }
        : {
            candidates: rankedOthers(
              clean,
              ctx.labels,
              Math.min(p.candidates, ctx.classifier.numClasses) - 1,
            ),
          };
      return Array.from({ length: p.restarts }, (_, r) => ({ linearise, randomStart: r > 0 }));
    }),
});

/**
 * How a run linearises the classifier around x: the closest of the candidate classes (one list per rank, one
 * class per example of the batch), or one target class per example; always against the true label.
 */
export type Linearisation = { candidates: Int32Array[] } | { targets: Int32Array };

/** One FAB run over the examples not yet fooled within eps. */
export interface FabRun {
  linearise: Linearisation;
  randomStart: boolean;
}

/**
 * The FAB engine: runs the planned runs (from the clean logits [n * classes]) in order, each on the examples
 * not yet fooled within ctx.eps, then the final search. Returns the closest adversarial per example.
 */
export async function fabAttack(
  ctx: AttackContext,
  p: FabParams,
  plan: (cleanLogits: Float32Array) => FabRun[],
): Promise<tf.Tensor4D> {
  const n = ctx.x.shape[0];
  const clean = ctx.logits(ctx.x);
  const cleanLogits = Float32Array.from(clean.dataSync());
  const fooled = ctx.isAdversarial(clean, allRows(n));
  clean.dispose();
  const best = new BestAdversarial(ctx, fooled);
  const runs = plan(cleanLogits);
  const total = runs.length * p.steps;
  for (let i = 0; i < runs.length; i++) {
    const rows = best.unfooled(ctx.eps);
    if (rows.length === 0) break;
    await fabRun(ctx, best, rows, runs[i], p, (step) => ctx.yieldStep(i * p.steps + step, total));
  }
  await finalSearch(ctx, best, cleanLogits, p.finalSearch, () => ctx.yieldStep(total, total));
  return tf.tensor4d(best.values, ctx.x.shape);
}

/**
 * Per example of the batch, the other classes by decreasing clean logit, the first k: k arrays of one class
 * per example (rank 0 = the highest other class).
 */
export function rankedOthers(logits: Float32Array, labels: Int32Array, k: number): Int32Array[] {
  const n = labels.length;
  const classes = logits.length / Math.max(n, 1);
  const out = Array.from({ length: k }, () => new Int32Array(n));
  for (let i = 0; i < n; i++) {
    const order = Array.from({ length: classes }, (_, j) => j)
      .filter((j) => j !== labels[i])
      .sort((a, b) => logits[i * classes + b] - logits[i * classes + a]);
    for (let j = 0; j < k; j++) out[j][i] = order[j];
  }
  return out;
}

/**
 * The closest adversarial found so far per example of the batch (the clean input while there is none). Not the
 * attacks' BestPoints (best-points.ts): FAB is a minimal attack, so a later adversarial point replaces an earlier
 * one when it is closer, where BestPoints keeps the first adversarial point as final.
 */
class BestAdversarial {
  readonly values: Float32Array;
  /** Distance to the clean input in ctx.norm: 0 for examples adversarial as given, Infinity while none. */
  readonly norms: Float64Array;
  readonly clean: Float32Array;
  readonly dim: number;

  constructor(
    private readonly ctx: AttackContext,
    fooled: Uint8Array,
  ) {
    this.clean = Float32Array.from(ctx.x.dataSync());
    this.values = Float32Array.from(this.clean);
    this.dim = ctx.x.size / ctx.x.shape[0];
    this.norms = Float64Array.from(fooled, (f) => (f === 1 ? 0 : Infinity));
  }

  unfooled(eps: number): Int32Array {
    return allRows(this.norms.length).filter((r) => !(this.norms[r] <= eps));
  }

  /** Offers point (the values of the example `row`); keeps it when it is closer than the best so far. */
  offer(row: number, point: Float32Array): void {
    const distance = normOfDifference(
      point,
      this.clean.subarray(row * this.dim, (row + 1) * this.dim),
      this.ctx.norm,
    );
    if (distance < this.norms[row]) {
      this.norms[row] = distance;
      this.values.set(point, row * this.dim);
    }
  }
}

/** ||a - b|| in `norm`, or ||a|| without b. */
function normOfDifference(a: ArrayLike<number>, b: ArrayLike<number> | null, norm: Norm): number {
  let out = 0;
  for (let j = 0; j < a.length; j++) {
    const v = Math.abs(b === null ? a[j] : a[j] - b[j]);
    if (norm === 'linf') out = Math.max(out, v);
    else out += norm === 'l2' ? v * v : v;
  }
  return norm === 'l2' ? Math.sqrt(out) : out;
}

/** One run of Algorithm 1 on the examples `rows` (indices into the batch). */
async function fabRun(
  ctx: AttackContext,
  best: BestAdversarial,
  rows: Int32Array,
  run: FabRun,
  p: FabParams,
  progress: (step: number) => Promise<void>,
): Promise<void> {
  const m = rows.length;
  const dim = best.dim;
  const shape: [number, number, number, number] = [m, ctx.x.shape[1], ctx.x.shape[2], ctx.x.shape[3]];
  const x0Values = new Float32Array(m * dim);
  rows.forEach((r, i) => x0Values.set(best.clean.subarray(r * dim, (r + 1) * dim), i * dim));
  const x0 = tf.tensor4d(x0Values, shape);
  const labels = tf.tensor1d(
    rows.map((r) => ctx.labels[r]),
    'int32',
  );
  let x = run.randomStart ? randomStart(ctx, x0Values, rows, best, shape) : x0.clone();
  try {
    for (let step = 0; step < p.steps; step++) {
      const plane = linearise(ctx, x, labels, rows, run.linearise);
      const next = tf.tidy(() => biasedStep(x, x0, plane, p, ctx.norm, ctx.bounds));
      tf.dispose([plane.f, plane.w, x]);
      x = next;
      const logits = ctx.logits(x);
      const adversarial = ctx.isAdversarial(logits, rows);
      logits.dispose();
      if (adversarial.includes(1)) {
        const values = Float32Array.from(x.dataSync());
        for (let i = 0; i < m; i++) {
          if (adversarial[i] === 0) continue;
          const point = values.subarray(i * dim, (i + 1) * dim);
          best.offer(rows[i], point);
          // The backward step: restart the search from closer to x0.
          for (let j = 0; j < dim; j++) {
            const origin = x0Values[i * dim + j];
            point[j] = origin + p.beta * (point[j] - origin);
          }
        }
        x.dispose();
        x = tf.tensor4d(values, shape);
      }
      await progress(step + 1);
    }
  } finally {
    tf.dispose([x, x0, labels]);
  }
}

/**
 * x0 plus a seeded random point of the sphere of radius min(eps, best) / 2 (the reference: uniform in the
 * Linf cube scaled to the sphere, Gaussian directions for L2 and L1), clipped to the bounds. Not norms.ts
 * randomStart: FAB's start lies on a sphere whose radius follows the best adversarial so far, not in the eps-ball.
 */
function randomStart(
  ctx: AttackContext,
  x0: Float32Array,
  rows: Int32Array,
  best: BestAdversarial,
  shape: [number, number, number, number],
): tf.Tensor4D {
  const dim = best.dim;
  const [lo, hi] = ctx.bounds;
  const out = new Float32Array(x0.length);
  const direction = new Float64Array(dim);
  rows.forEach((r, i) => {
    for (let j = 0; j < dim; j++)
      direction[j] = ctx.norm === 'linf' ? 2 * ctx.rng.next() - 1 : ctx.rng.normal();
    const length = normOfDifference(direction, null, ctx.norm);
    const radius = Math.min(ctx.eps, best.norms[r]) / 2;
    const scale = length > 0 && Number.isFinite(radius) ? radius / length : 0;
    for (let j = 0; j < dim; j++) {
      out[i * dim + j] = Math.min(hi, Math.max(lo, x0[i * dim + j] + scale * direction[j]));
    }
  });
  return tf.tensor4d(out, shape);
}

/** The linearised boundary at x: f(x) + w . (z - x) = 0, with f = Z_k - Z_y for the chosen class k. */
interface Plane {
  f: tf.Tensor1D;
  w: tf.Tensor4D;
}

const DUAL: Record<Norm, Norm> = { linf: 'l1', l2: 'l2', l1: 'linf' };

function linearise(
  ctx: AttackContext,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  rows: Int32Array,
  how: Linearisation,
): Plane {
  const towards = (classes: Int32Array): Plane => {
    const cls = tf.tensor1d(
      rows.map((r) => classes[r]),
      'int32',
    );
    const g = ctx.gradient(x, (z) => tf.tidy(() => tf.sub(classLogit(z, cls), classLogit(z, labels))));
    tf.dispose([cls, g.logits]);
    return { f: g.loss, w: g.grad };
  };
  if ('targets' in how) return towards(how.targets);
  // The closest linearised boundary among the candidates (never empty): argmin_k |f_k| / ||w_k||_dual.
  type Candidate = Plane & { distance: tf.Tensor1D };
  const measured = (plane: Plane): Candidate => ({
    ...plane,
    distance: tf.tidy(() => tf.div(tf.abs(plane.f), tf.add(batchNorm(plane.w, DUAL[ctx.norm]), 1e-12))),
  });
  let closest = measured(towards(how.candidates[0]));
  try {
    for (const classes of how.candidates.slice(1)) {
      const next = measured(towards(classes));
      const previous = closest;
      // Strictly closer only: ties keep the higher-ranked class, like an arg-min.
      closest = tf.tidy(() => {
        const closer = tf.less(next.distance, previous.distance);
        return {
          distance: tf.where(closer, next.distance, previous.distance),
          f: tf.where(closer, next.f, previous.f),
          w: tf.where(tf.reshape(closer, [rows.length, 1, 1, 1]), next.w, previous.w),
        };
      });
      tf.dispose([next.distance, next.f, next.w, previous.distance, previous.f, previous.w]);
    }
  } catch (err) {
    tf.dispose([closest.distance, closest.f, closest.w]);
    throw err;
  }
  closest.distance.dispose();
  return { f: closest.f, w: closest.w };
}

/**
 * The biased step of Algorithm 1: projections of x and x0 onto the linearised boundary within the bounds,
 * mixed with weight alpha towards x0 and extended by eta.
 */
function biasedStep(
  x: tf.Tensor4D,
  x0: tf.Tensor4D,
  plane: Plane,
  p: FabParams,
  norm: Norm,
  bounds: readonly [number, number],
): tf.Tensor4D {
  const m = x.shape[0];
  const flat = tf.reshape<tf.Rank.R2>(x, [m, -1]);
  const flat0 = tf.reshape<tf.Rank.R2>(x0, [m, -1]);
  const w = tf.reshape<tf.Rank.R2>(plane.w, [m, -1]);
  // The hyperplane w . z = b with b = w . x - f(x).
  const b = tf.sub<tf.Tensor1D>(tf.sum(tf.mul(w, flat), 1), plane.f);
  const steps = projectOntoHyperplaneBox(
    tf.concat([flat, flat0]),
    tf.concat([w, w]),
    tf.concat([b, b]),
    norm,
    bounds,
  );
  const d = tf.slice(steps, [0, 0], [m, -1]);
  const d0 = tf.slice(steps, [m, 0], [m, -1]);
  const a = tf.maximum(batchNorm(d, norm), 1e-8);
  const a0 = tf.maximum(batchNorm(d0, norm), 1e-8);
  const alpha = tf.reshape(tf.clipByValue(tf.div(a, tf.add(a, a0)), 0, p.alphaMax), [m, 1]);
  const mixed = tf.add(
    tf.mul(tf.add(flat, tf.mul(d, p.eta)), tf.sub(1, alpha)),
    tf.mul(tf.add(flat0, tf.mul(d0, p.eta)), alpha),
  );
  return tf.reshape(tf.clipByValue(mixed, bounds[0], bounds[1]), x.shape);
}

/**
 * The reference's final search: on the segment from the clean input a (not adversarial) to the best
 * adversarial a' (predicted c), regula falsi on the margin h = Z_c - Z_y: the point where the linear
 * interpolation of h reaches a small lead replaces a' when it is adversarial with that lead, and a otherwise.
 * Only moves closer. The lead (the reference aims at h = 0) keeps the result adversarial after the rounding
 * of the runner's projection: a point exactly on the boundary is adversarial or not by rounding alone.
 */
async function finalSearch(
  ctx: AttackContext,
  best: BestAdversarial,
  cleanLogits: Float32Array,
  steps: number,
  progress: () => Promise<void>,
): Promise<void> {
  const rows = allRows(best.norms.length).filter((r) => best.norms[r] > 0 && Number.isFinite(best.norms[r]));
  const m = rows.length;
  if (steps === 0 || m === 0) return;
  const dim = best.dim;
  const classes = ctx.classifier.numClasses;
  const shape: [number, number, number, number] = [m, ctx.x.shape[1], ctx.x.shape[2], ctx.x.shape[3]];
  const gather = (source: Float32Array): Float32Array => {
    const out = new Float32Array(m * dim);
    rows.forEach((r, i) => out.set(source.subarray(r * dim, (r + 1) * dim), i * dim));
    return out;
  };
  const inside = gather(best.clean);
  const outside = gather(best.values);
  const zInside = new Float32Array(m * classes);
  rows.forEach((r, i) => zInside.set(cleanLogits.subarray(r * classes, (r + 1) * classes), i * classes));
  const zOutside = logitsOf(ctx, outside, shape);
  const between = new Float32Array(m * dim);
  const [lo, hi] = ctx.bounds;
  for (let step = 0; step < steps; step++) {
    for (let i = 0; i < m; i++) {
      const y = ctx.labels[rows[i]];
      const zOut = zOutside.subarray(i * classes, (i + 1) * classes);
      const c = argMax(zOut);
      const hIn = zInside[i * classes + c] - zInside[i * classes + y];
      const hOut = zOut[c] - zOut[y];
      let t = (2 * requiredLead(zOut) - hIn) / (hOut - hIn);
      if (!(t >= 0 && t <= 1)) t = 1;
      for (let j = i * dim; j < (i + 1) * dim; j++) {
        between[j] = Math.min(hi, Math.max(lo, inside[j] + t * (outside[j] - inside[j])));
      }
    }
    const z = tf.tensor4d(between, shape);
    const logits = ctx.logits(z);
    z.dispose();
    const zBetween = logits.dataSync();
    const adversarial = ctx.isAdversarial(logits, rows);
    for (let i = 0; i < m; i++) {
      const zPoint = zBetween.subarray(i * classes, (i + 1) * classes);
      const [point, zKept] =
        adversarial[i] === 1 && lead(zPoint) >= requiredLead(zPoint)
          ? [outside, zOutside]
          : [inside, zInside];
      point.set(between.subarray(i * dim, (i + 1) * dim), i * dim);
      zKept.set(zPoint, i * classes);
    }
    logits.dispose();
    await progress();
  }
  rows.forEach((r, i) => best.offer(r, outside.subarray(i * dim, (i + 1) * dim)));
}

function logitsOf(
  ctx: AttackContext,
  values: Float32Array,
  shape: [number, number, number, number],
): Float32Array {
  const x = tf.tensor4d(values, shape);
  const logits = ctx.logits(x);
  const out = Float32Array.from(logits.dataSync());
  tf.dispose([x, logits]);
  return out;
}

/** The smallest lead of the top logit that the final search accepts: 1e-4 of the largest logit. */
function requiredLead(z: ArrayLike<number>): number {
  let largest = 0;
  for (let j = 0; j < z.length; j++) largest = Math.max(largest, Math.abs(z[j]));
  return 1e-4 * largest;
}

/** The top logit minus the second. */
function lead(z: ArrayLike<number>): number {
  const top = argMax(z);
  let second = -Infinity;
  for (let j = 0; j < z.length; j++) if (j !== top) second = Math.max(second, z[j]);
  return z[top] - second;
}

function argMax(values: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < values.length; j++) if (values[j] > values[best]) best = j;
  return best;
}
