import * as tf from '@tensorflow/tfjs-core';
import { ApgdStepControl } from './apgd-step-schedule.js';
import { apgdObjective, type ApgdLoss } from './apgd-loss.js';
import { normalizeGradient, project, randomInBall, scaleRows } from './norms.js';
import type { AttackContext } from './types.js';

/**
 * One run of Auto-PGD (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of
 * diverse parameter-free attacks", Algorithm 1) for some examples of a batch, and the best points kept over
 * several runs (restarts, target classes). Linf and L2, as in the reference code (fra31/auto-attack,
 * autopgd_base.py): from a random point of the ball, with per-example step size eta starting at 2 * eps,
 *   z = P(x_k + eta * s(grad)),  x_{k+1} = P(x_k + alpha * (z - x_k) + (1 - alpha) * (x_k - x_{k-1}))
 * where s is sign (Linf) or grad / ||grad||_2 (L2), P the projection onto the ball and the bounds, and alpha 1 on
 * the first step; the schedule of apgd-step-schedule.ts halves eta and sends the example back to its best point.
 * An example stops once it meets the goal (the schedule is per example, so the others run as they would).
 */

export interface ApgdSettings {
  steps: number;
  /** Condition 1's threshold of the schedule. */
  rho: number;
  /** alpha: the weight of the new projected step; 1 - alpha goes to the previous move. */
  momentum: number;
  loss: ApgdLoss;
  /** Per example of the batch, the class a targeted loss pulls towards; null for the untargeted loss. */
  lossTargets: Int32Array | null;
}

/** The initial step size as a multiple of eps (Linf and L2). */
const INITIAL_STEP = 2;

/** The best point per example of a batch over runs: an adversarial one is final, else the highest loss. */
export class ApgdBest {
  private readonly points: Float32Array;
  private readonly loss: Float32Array;
  private readonly done: Uint8Array;
  private readonly dim: number;
  private readonly shape: [number, number, number, number];

  /** Starts from the clean inputs; `met` marks the examples whose clean prediction already meets the goal. */
  constructor(x: tf.Tensor4D, met: Uint8Array) {
    this.shape = x.shape;
    this.dim = x.size / Math.max(x.shape[0], 1);
    this.points = Float32Array.from(x.dataSync());
    this.loss = new Float32Array(x.shape[0]).fill(-Infinity);
    this.done = Uint8Array.from(met);
  }

  /** The examples that do not meet the goal yet. */
  pending(): Int32Array {
    const out: number[] = [];
    this.done.forEach((d, i) => {
      if (d === 0) out.push(i);
    });
    return Int32Array.from(out);
  }

  /** Keeps `points[i]` for example `rows[i]` where `adversarial[i]` is 1, as final. */
  acceptAdversarial(points: tf.Tensor4D, rows: Int32Array, adversarial: Uint8Array): void {
    const chosen = indicesOf(adversarial);
    this.store(points, rows, chosen);
    for (const i of chosen) this.done[rows[i]] = 1;
  }

  /** Keeps `points[i]` for example `rows[i]` if it is not final and `loss[i]` beats its best so far. */
  offer(points: tf.Tensor4D, rows: Int32Array, loss: Float32Array): void {
    const better = Uint8Array.from(rows, (r, i) => Number(this.done[r] === 0 && loss[i] > this.loss[r]));
    const chosen = indicesOf(better);
    this.store(points, rows, chosen);
    for (const i of chosen) this.loss[rows[i]] = loss[i];
  }

  result(): tf.Tensor4D {
    return tf.tensor4d(this.points, this.shape);
  }

  private store(points: tf.Tensor4D, rows: Int32Array, chosen: Int32Array): void {
    if (chosen.length === 0) return;
    // Download only the rows being kept.
    const picked = gatherRows(points, chosen);
    const values = picked.dataSync();
    picked.dispose();
    chosen.forEach((i, k) =>
      this.points.set(values.subarray(k * this.dim, (k + 1) * this.dim), rows[i] * this.dim),
    );
  }
}

/** The tensors of a run, one row per example still running. */
interface RunTensors {
  x0: tf.Tensor4D;
  xAdv: tf.Tensor4D;
  /** The previous iterate (the momentum term). */
  xPrev: tf.Tensor4D;
  grad: tf.Tensor4D;
  xBest: tf.Tensor4D;
  /** The gradient at xBest: a restart from xBest steps along it. */
  gradBest: tf.Tensor4D;
}

export interface RunProgress {
  /** Progress units done before this run, and the total of the attack (one unit per model pass). */
  offset: number;
  total: number;
}

/**
 * One APGD run for the examples `startRows` of the batch; adversarial points and, for the others, the point of
 * highest loss go to `best`. Costs `steps` gradients and one forward pass per example (fewer when it stops).
 */
export async function apgdRun(
  ctx: AttackContext,
  s: ApgdSettings,
  startRows: Int32Array,
  best: ApgdBest,
  progress: RunProgress,
): Promise<void> {
  let rows = startRows;
  const x0 = gatherRows(ctx.x, rows);
  const start = tf.tidy(() =>
    project(
      x0,
      tf.add(x0, randomInBall(x0.shape, ctx.eps, ctx.norm, ctx.rng)),
      ctx.eps,
      ctx.norm,
      ctx.bounds,
    ),
  );
  const first = ctx.gradient(start, lossFor(ctx, s, rows));
  const firstLoss = Float32Array.from(first.loss.dataSync());
  const firstMet = ctx.isAdversarial(first.logits, rows);
  tf.dispose([first.logits, first.loss]);
  let t: RunTensors = {
    x0,
    xAdv: start,
    xPrev: start.clone(),
    grad: first.grad,
    xBest: start.clone(),
    gradBest: first.grad.clone(),
  };
  const control = new ApgdStepControl(firstLoss, {
    steps: s.steps,
    stepSize: INITIAL_STEP * ctx.eps,
    rho: s.rho,
  });
  try {
    best.acceptAdversarial(t.xAdv, rows, firstMet);
    ({ rows, t } = dropMet(t, rows, firstMet, control));
    await ctx.yieldStep(progress.offset + 1, progress.total);
    for (let i = 0; i < s.steps && rows.length > 0; i++) {
      const next = momentumStep(ctx, t, control.stepSizes, i === 0 ? 1 : s.momentum);
      t.xPrev.dispose();
      t.xPrev = t.xAdv;
      t.xAdv = next;
      // The last iterate is only scored: a forward pass, no gradient.
      const last = i === s.steps - 1;
      const lossFn = lossFor(ctx, s, rows);
      const pass = last ? forwardOnly(ctx, t.xAdv, lossFn) : ctx.gradient(t.xAdv, lossFn);
      const met = ctx.isAdversarial(pass.logits, rows);
      const lossValues = Float32Array.from(pass.loss.dataSync());
      tf.dispose([pass.logits, pass.loss]);
      if (pass.grad !== null) {
        t.grad.dispose();
        t.grad = pass.grad;
      }
      best.acceptAdversarial(t.xAdv, rows, met);
      const { improved, halved } = control.observe(lossValues);
      t.xBest = replaceRows(t.xBest, improved, t.xAdv);
      if (pass.grad !== null) t.gradBest = replaceRows(t.gradBest, improved, t.grad);
      if (halved !== null) {
        t.xAdv = replaceRows(t.xAdv, halved, t.xBest);
        t.grad = replaceRows(t.grad, halved, t.gradBest);
      }
      ({ rows, t } = dropMet(t, rows, met, control));
      await ctx.yieldStep(progress.offset + i + 2, progress.total);
    }
    best.offer(t.xBest, rows, control.bestLoss);
  } finally {
    tf.dispose(Object.values(t));
  }
}

function momentumStep(
  ctx: AttackContext,
  t: RunTensors,
  stepSizes: Float32Array,
  alpha: number,
): tf.Tensor4D {
  return tf.tidy(() => {
    const direction = ctx.norm === 'linf' ? tf.sign(t.grad) : normalizeGradient(t.grad, 'l2');
    const moved = tf.add<tf.Tensor4D>(t.xAdv, scaleRows(direction, tf.tensor1d(stepSizes)));
    const z = project(t.x0, moved, ctx.eps, ctx.norm, ctx.bounds);
    if (alpha === 1) return z;
    const mixed = tf.add<tf.Tensor4D>(
      tf.add(t.xAdv, tf.mul(tf.sub(z, t.xAdv), alpha)),
      tf.mul(tf.sub(t.xAdv, t.xPrev), 1 - alpha),
    );
    return project(t.x0, mixed, ctx.eps, ctx.norm, ctx.bounds);
  });
}

/** The run's loss on the rows `rows` (see apgdObjective). */
function lossFor(ctx: AttackContext, s: ApgdSettings, rows: Int32Array): (z: tf.Tensor2D) => tf.Tensor1D {
  return (z) =>
    tf.tidy(() => {
      const labels = tf.tensor1d(
        rows.map((r) => ctx.labels[r]),
        'int32',
      );
      const targets =
        s.lossTargets === null
          ? null
          : tf.tensor1d(
              rows.map((r) => s.lossTargets?.[r] ?? 0),
              'int32',
            );
      return apgdObjective(s.loss, z, labels, targets);
    });
}

function forwardOnly(
  ctx: AttackContext,
  x: tf.Tensor4D,
  lossFn: (z: tf.Tensor2D) => tf.Tensor1D,
): { logits: tf.Tensor2D; loss: tf.Tensor1D; grad: null } {
  const logits = ctx.logits(x);
  return { logits, loss: lossFn(logits), grad: null };
}

/** `target` with its rows where `mask` is 1 taken from `source`; disposes the old `target`. */
function replaceRows(target: tf.Tensor4D, mask: Uint8Array, source: tf.Tensor4D): tf.Tensor4D {
  if (!mask.includes(1)) return target;
  const out = tf.tidy(() =>
    tf.where(tf.reshape(tf.tensor1d(mask, 'bool'), [mask.length, 1, 1, 1]), source, target),
  );
  target.dispose();
  return out;
}

/** Drops the rows that met the goal from the run's tensors and schedule. */
function dropMet(
  t: RunTensors,
  rows: Int32Array,
  met: Uint8Array,
  control: ApgdStepControl,
): { rows: Int32Array; t: RunTensors } {
  if (!met.includes(1)) return { rows, t };
  const keep = indicesOf(met.map((m) => 1 - m));
  control.keep(keep);
  const take = (x: tf.Tensor4D): tf.Tensor4D => {
    const out = gatherRows(x, keep);
    x.dispose();
    return out;
  };
  return {
    rows: keep.map((i) => rows[i]),
    t: {
      x0: take(t.x0),
      xAdv: take(t.xAdv),
      xPrev: take(t.xPrev),
      grad: take(t.grad),
      xBest: take(t.xBest),
      gradBest: take(t.gradBest),
    },
  };
}

function gatherRows(x: tf.Tensor4D, rows: Int32Array): tf.Tensor4D {
  if (rows.length === x.shape[0] && rows.every((r, i) => r === i)) return x.clone();
  return tf.tidy(() => tf.gather(x, tf.tensor1d(rows, 'int32')));
}

function indicesOf(flags: Uint8Array): Int32Array {
  const out: number[] = [];
  flags.forEach((f, i) => {
    if (f === 1) out.push(i);
  });
  return Int32Array.from(out);
}
