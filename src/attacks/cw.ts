import * as tf from '@tensorflow/tfjs-core';
import { field, type Params } from '../util/schema.js';
import { attackLoss } from './losses.js';
import { batchNorm } from './norms.js';
import { defineAttack, type AttackContext } from './types.js';

const schema = {
  binarySearchSteps: field.integer({
    default: 9,
    min: 1,
    description: 'Rounds of the search over the constant c (each round restarts Adam from the clean input).',
  }),
  steps: field.integer({ default: 10000, min: 1, description: 'Adam steps per round.' }),
  stepSize: field.number({
    default: 0.01,
    min: 0,
    exclusiveMin: true,
    description: 'Adam learning rate, in the tanh variables w.',
  }),
  confidence: field.number({
    default: 0,
    min: 0,
    description: 'kappa: how far (in logits) the adversarial class must lead to count as a success.',
  }),
  initialConst: field.number({
    default: 1e-3,
    min: 0,
    exclusiveMin: true,
    description:
      'The constant c of the first round (multiplied by 10 per round until a success, then bisected).',
  }),
  abortEarly: field.boolean({
    default: true,
    description:
      'End a round for an example once its loss fell by less than 0.01% over a tenth of the steps.',
  }),
};

type CwParams = Params<typeof schema>;

/** c's starting upper bound; below BISECT_BELOW it is a c known to succeed (Carlini's reference l2_attack.py). */
const UPPER_BOUND = 1e10;
const BISECT_BELOW = 1e9;
/** Keeps arctanh finite for inputs on the bounds (the reference's 0.999999). */
const TANH_SHRINK = 0.999999;
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;
/** Abort a round when the loss at a check exceeds this fraction of the loss at the previous check. */
const ABORT_RATIO = 0.9999;

/**
 * Carlini & Wagner's L2 attack (Carlini & Wagner 2017, "Towards Evaluating the Robustness of Neural
 * Networks", sec. V.A), as their reference implementation (nn_robust_attacks/l2_attack.py) and Foolbox's
 * L2CarliniWagnerAttack run it. With the change of variables x' = lo + (hi - lo) * (tanh(w) + 1) / 2 the box
 * constraint disappears, and Adam minimises over w
 *   ||x' - x||_2^2 + c * f(x'),  f(x') = max(Z_y - max_{j != y} Z_j + kappa, 0)
 * (targeted: max(max_{j != t} Z_j - Z_t + kappa, 0)) on the logits Z: the paper's f6 shifted by kappa, so
 * that the loss is >= 0 as in the reference. c is searched per example: starting at initialConst, it is
 * multiplied by 10 while no success was found (upper bound 1e10), then bisected between the largest failing
 * and the smallest succeeding c; with 10 or more rounds the last one reruns at that smallest succeeding c.
 * The result is the smallest successful perturbation (a success leads by kappa) over all rounds and steps;
 * the clean input where no round succeeded.
 *
 * Parameters (defaults as the reference and Foolbox): binarySearchSteps 9, steps 10000, stepSize 0.01 (Adam,
 * beta 0.9 / 0.999, epsilon 1e-8), confidence 0, initialConst 1e-3, abortEarly true (a round ends once its
 * loss fell by less than 0.01% since the check a tenth of the steps before). The early abort is checked per
 * example: the examples' problems are independent, and the reference's check of the batch's summed loss
 * would make one example's result depend on its batch-mates. 10000 steps is slow in a browser; a few hundred
 * with a larger stepSize (0.05 - 0.1) find most of the gain.
 *
 * As in the reference, the objective's distance is taken to the clean input as the tanh variables reach it
 * (x shrunk by 0.999999 towards the centre of the bounds, so that w stays finite), the reported one to x.
 * The gradient goes through ctx.gradient (so its cost is counted): the classifier's part c * df/dx' comes
 * from it, the distance's part 2 (x' - x) and the chain rule through tanh, dx'/dw = (hi - lo) / 2 * (1 -
 * tanh(w)^2), are added here.
 *
 * @example runAttack(model, cw, { x, labels, norm: 'l2', params: { steps: 1000, stepSize: 0.05 } })
 */
export const cw = defineAttack({
  name: 'cw',
  title: 'Carlini & Wagner L2 (Carlini & Wagner 2017): minimal perturbation by Adam and a search over c',
  norms: ['l2'],
  budget: 'minimal',
  targeted: true,
  schema,
  run: cwL2,
});

/** Per-example best result over all rounds. */
interface Best {
  x: Float32Array;
  norm: Float32Array;
  dim: number;
}

/** The change of variables for one batch: x' = center + half * tanh(w), and the clean input's w0. */
interface TanhSpace {
  center: number;
  half: number;
  w0: tf.Tensor4D;
  /** center + half * tanh(w0): the clean input as the attack space reaches it (distances are taken to it). */
  x0: tf.Tensor4D;
}

async function cwL2(ctx: AttackContext, p: CwParams): Promise<tf.Tensor4D> {
  const n = ctx.x.shape[0];
  const best: Best = {
    x: Float32Array.from(ctx.x.dataSync()),
    norm: new Float32Array(n).fill(Infinity),
    dim: ctx.x.size / n,
  };
  let consts = new Float64Array(n).fill(p.initialConst);
  const lower = new Float64Array(n);
  const upper = new Float64Array(n).fill(UPPER_BOUND);
  const space = tanhSpace(ctx.x, ctx.bounds);
  try {
    for (let round = 0; round < p.binarySearchSteps; round++) {
      // The reference's `repeat`: with 10 or more rounds, the last one reruns at the smallest successful c.
      if (p.binarySearchSteps >= 10 && round === p.binarySearchSteps - 1) consts = upper.slice();
      const found = await optimiseRound(ctx, p, space, consts, best, round);
      for (let i = 0; i < n; i++) {
        if (found[i] === 1) {
          upper[i] = Math.min(upper[i], consts[i]);
          if (upper[i] < BISECT_BELOW) consts[i] = (lower[i] + upper[i]) / 2;
        } else {
          lower[i] = Math.max(lower[i], consts[i]);
          consts[i] = upper[i] < BISECT_BELOW ? (lower[i] + upper[i]) / 2 : consts[i] * 10;
        }
      }
    }
  } finally {
    tf.dispose([space.w0, space.x0]);
  }
  return tf.tensor4d(best.x, ctx.x.shape);
}

function tanhSpace(x: tf.Tensor4D, bounds: readonly [number, number]): TanhSpace {
  const center = (bounds[0] + bounds[1]) / 2;
  const half = (bounds[1] - bounds[0]) / 2;
  const w0 = tf.tidy((): tf.Tensor4D => {
    const unit = tf.clipByValue(tf.div<tf.Tensor4D>(tf.sub(x, center), half), -1, 1);
    return tf.atanh(tf.mul<tf.Tensor4D>(unit, TANH_SHRINK));
  });
  const x0 = tf.tidy((): tf.Tensor4D => tf.add(tf.mul(tf.tanh(w0), half), center));
  return { center, half, w0, x0 };
}

/** The tensors of one round, for the examples still optimised (rows of the batch). */
interface RoundState {
  rows: Int32Array;
  x: tf.Tensor4D;
  w0: tf.Tensor4D;
  x0: tf.Tensor4D;
  c: tf.Tensor1D;
  labels: tf.Tensor1D;
  targets: tf.Tensor1D | null;
  /** The optimised variable: w = w0 + delta, and Adam's moment estimates. */
  delta: tf.Tensor4D;
  m: tf.Tensor4D;
  v: tf.Tensor4D;
}

/** One round at fixed constants: Adam from delta = 0. Returns, per example, whether any step succeeded. */
async function optimiseRound(
  ctx: AttackContext,
  p: CwParams,
  space: TanhSpace,
  consts: Float64Array,
  best: Best,
  round: number,
): Promise<Uint8Array> {
  const n = ctx.x.shape[0];
  const found = new Uint8Array(n);
  const previousLoss = new Float64Array(n).fill(Infinity);
  const checkEvery = Math.ceil(p.steps / 10);
  let s: RoundState = {
    rows: Int32Array.from({ length: n }, (_, i) => i),
    x: ctx.x.clone(),
    w0: space.w0.clone(),
    x0: space.x0.clone(),
    c: tf.tensor1d(Float32Array.from(consts)),
    labels: tf.tensor1d(ctx.labels, 'int32'),
    targets: ctx.targets ? tf.tensor1d(ctx.targets, 'int32') : null,
    delta: tf.zerosLike(ctx.x),
    m: tf.zerosLike(ctx.x),
    v: tf.zerosLike(ctx.x),
  };
  try {
    for (let step = 0; step < p.steps && s.rows.length > 0; step++) {
      const out = adamStep(ctx, p, space, s, step + 1);
      s.delta.dispose();
      s.m.dispose();
      s.v.dispose();
      s = { ...s, delta: out.delta, m: out.m, v: out.v };
      const stopped = new Uint8Array(s.rows.length);
      let improved = false;
      for (let i = 0; i < s.rows.length; i++) {
        const r = s.rows[i];
        if (out.adversarial[i] === 1) {
          found[r] = 1;
          improved ||= out.norms[i] < best.norm[r];
        }
        if (p.abortEarly && step % checkEvery === 0) {
          if (out.loss[i] <= ABORT_RATIO * previousLoss[r]) previousLoss[r] = out.loss[i];
          else stopped[i] = 1;
        }
      }
      if (improved) recordBest(best, out.point, s.rows, out.adversarial, out.norms);
      out.point.dispose();
      if (stopped.includes(1)) s = keepRows(s, stopped);
      await ctx.yieldStep(round * p.steps + step + 1, p.binarySearchSteps * p.steps);
    }
  } finally {
    tf.dispose([s.x, s.w0, s.x0, s.c, s.labels, s.delta, s.m, s.v]);
    s.targets?.dispose();
  }
  return found;
}

interface StepResult {
  /** The point x' the step was taken from, and what was measured there. */
  point: tf.Tensor4D;
  loss: Float32Array;
  norms: Float32Array;
  adversarial: Uint8Array;
  delta: tf.Tensor4D;
  m: tf.Tensor4D;
  v: tf.Tensor4D;
}

/** Evaluates the objective at w0 + delta and takes one Adam step (t counts from 1) on delta. */
function adamStep(ctx: AttackContext, p: CwParams, space: TanhSpace, s: RoundState, t: number): StepResult {
  const kappa = p.confidence;
  const tw = tf.tidy(() => tf.tanh(tf.add(s.w0, s.delta)));
  const point = tf.tidy((): tf.Tensor4D => tf.add(tf.mul(tw, space.half), space.center));
  // c * f(x') per example; attackLoss's C&W margin capped at kappa is kappa - f(x').
  const classifierLoss = (z: tf.Tensor2D): tf.Tensor1D =>
    tf.tidy(() =>
      tf.mul(s.c, tf.sub(kappa, attackLoss('cw', z, s.labels, { targets: s.targets, confidence: kappa }))),
    );
  const g = ctx.gradient(point, classifierLoss);
  const next = tf.tidy(() => {
    const fromStart = tf.sub(point, s.x0);
    const gradW = tf.mul(tf.add(tf.mul(fromStart, 2), g.grad), tf.mul(tf.sub(1, tf.square(tw)), space.half));
    const m: tf.Tensor4D = tf.add(tf.mul(s.m, ADAM_BETA1), tf.mul(gradW, 1 - ADAM_BETA1));
    const v: tf.Tensor4D = tf.add(tf.mul(s.v, ADAM_BETA2), tf.mul(tf.square(gradW), 1 - ADAM_BETA2));
    const mHat = tf.div(m, 1 - ADAM_BETA1 ** t);
    const vHat = tf.div(v, 1 - ADAM_BETA2 ** t);
    const delta: tf.Tensor4D = tf.sub(
      s.delta,
      tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), ADAM_EPSILON)), p.stepSize),
    );
    const loss = tf.add(tf.sum(tf.reshape(tf.square(fromStart), [s.rows.length, -1]), 1), g.loss);
    // One read-back for both: the loss (for the early abort) and the distance to x (for the best result).
    const measured = tf.stack([loss, batchNorm(tf.sub(point, s.x), 'l2')]);
    return { measured, lead: leadByKappa(g.logits, s, kappa), delta, m, v };
  });
  tf.dispose([tw, g.logits, g.loss, g.grad]);
  const adversarial = ctx.isAdversarial(next.lead, s.rows);
  const measured = next.measured.dataSync();
  const n = s.rows.length;
  tf.dispose([next.measured, next.lead]);
  return {
    point,
    loss: Float32Array.from(measured.subarray(0, n)),
    norms: Float32Array.from(measured.subarray(n, 2 * n)),
    adversarial,
    delta: next.delta,
    m: next.m,
    v: next.v,
  };
}

/**
 * Logits on which the arg-max meets the goal only with a lead of kappa (Foolbox's and the reference's success
 * test): the true class gains kappa (untargeted), the target loses it (targeted).
 */
function leadByKappa(logits: tf.Tensor2D, s: RoundState, kappa: number): tf.Tensor2D {
  if (kappa === 0) return logits.clone();
  const cls = s.targets ?? s.labels;
  const shift = tf.mul(tf.oneHot(tf.cast(cls, 'int32'), logits.shape[1]), s.targets ? -kappa : kappa);
  return tf.add(logits, shift);
}

function recordBest(
  best: Best,
  point: tf.Tensor4D,
  rows: Int32Array,
  adversarial: Uint8Array,
  norms: Float32Array,
): void {
  const values = point.dataSync();
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (adversarial[i] === 1 && norms[i] < best.norm[r]) {
      best.norm[r] = norms[i];
      best.x.set(values.subarray(i * best.dim, (i + 1) * best.dim), r * best.dim);
    }
  }
}

/** Drops the rows flagged in `stopped` from every tensor of the round (disposing the old ones). */
function keepRows(s: RoundState, stopped: Uint8Array): RoundState {
  const keep = Int32Array.from(s.rows.keys()).filter((i) => stopped[i] === 0);
  const rows = keep.map((i) => s.rows[i]);
  const take = <T extends tf.Tensor>(t: T): T => {
    const out = tf.tidy(() => tf.gather(t, tf.tensor1d(keep, 'int32')));
    t.dispose();
    return out;
  };
  return {
    rows,
    x: take(s.x),
    w0: take(s.w0),
    x0: take(s.x0),
    c: take(s.c),
    labels: take(s.labels),
    targets: s.targets ? take(s.targets) : null,
    delta: take(s.delta),
    m: take(s.m),
    v: take(s.v),
  };
}
