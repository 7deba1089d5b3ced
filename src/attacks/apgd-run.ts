import * as tf from '@tensorflow/tfjs-core';
import { ApgdL1StepControl, ApgdStepControl, type StepControl } from './apgd-step-schedule.js';
import { apgdObjective, type ApgdLoss } from './apgd-loss.js';
import { normalizeGradient, project, projectL1Box, randomInBall, scaleRows } from './norms.js';
import type { AttackContext, Norm } from './types.js';

/**
 * One run of Auto-PGD (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of
 * diverse parameter-free attacks", Algorithm 1) for some examples of a batch, and the best points kept over
 * several runs (restarts, target classes). Linf and L2, as in the reference code (fra31/auto-attack,
 * autopgd_base.py): from a random point of the ball, with per-example step size eta starting at 2 * eps,
 *   z = P(x_k + eta * s(grad)),  x_{k+1} = P(x_k + alpha * (z - x_k) + (1 - alpha) * (x_k - x_{k-1}))
 * where s is sign (Linf) or grad / ||grad||_2 (L2), P the projection onto the ball and the bounds, and alpha 1 on
 * the first step; the schedule of apgd-step-schedule.ts halves eta and sends the example back to its best point.
 * L1 is l1-APGD (Croce & Hein 2021, "Mind the box: l1-APGD for sparse adversarial attacks on image
 * classifiers"): sparse steps of adaptive sparsity and size, the exact projection onto the L1 ball and the box,
 * and AutoAttack's shrinking radii (see l1Stages). An example stops once it meets the goal (the schedules are
 * per example, so the others run as they would).
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
  /** Progress units done before this run, and the total of the attack (see runUnits). */
  offset: number;
  total: number;
}

/** One stretch of a run at one radius; only the final one records adversarial points and stops examples. */
interface Stage {
  eps: number;
  steps: number;
  final: boolean;
}

/**
 * The stages of an L1 run, as AutoAttack's L1 version runs APGD (`use_largereps`): radii 3 eps, 2 eps and eps for
 * 30%, 30% and 40% of the steps, each starting from the previous stage's best point projected onto its ball
 * (the reference rounds the first two up; rounding down keeps a final stage for every budget).
 */
function l1Stages(eps: number, steps: number): Stage[] {
  const early = Math.floor(0.3 * steps);
  return [
    { eps: 3 * eps, steps: early, final: false },
    { eps: 2 * eps, steps: early, final: false },
    { eps, steps: steps - 2 * early, final: true },
  ].filter((stage) => stage.steps > 0);
}

/** Progress units of one run: one per model pass of an example (a gradient per step and a start per stage). */
export function runUnits(norm: Norm, steps: number): number {
  return norm === 'l1' ? steps + l1Stages(1, steps).length : steps + 1;
}

/**
 * One APGD run for the examples `rows` of the batch; adversarial points and, for the others, the point of
 * highest loss go to `best`. Costs about `steps` gradients per example (fewer when it stops early).
 */
export async function apgdRun(
  ctx: AttackContext,
  s: ApgdSettings,
  rows: Int32Array,
  best: ApgdBest,
  progress: RunProgress,
): Promise<void> {
  const x0 = gatherRows(ctx.x, rows);
  try {
    if (ctx.norm !== 'l1') {
      const start = tf.tidy(() =>
        project(
          x0,
          tf.add(x0, randomInBall(x0.shape, ctx.eps, ctx.norm, ctx.rng)),
          ctx.eps,
          ctx.norm,
          ctx.bounds,
        ),
      );
      await runStage(ctx, s, rows, x0, start, { eps: ctx.eps, steps: s.steps, final: true }, best, progress);
      return;
    }
    // As the reference: Gaussian noise of unit variance projected onto the largest ball.
    const noise = Float32Array.from({ length: x0.size }, () => ctx.rng.normal());
    let start = tf.tidy(() => tf.add<tf.Tensor4D>(x0, tf.tensor4d(noise, x0.shape)));
    let offset = progress.offset;
    for (const stage of l1Stages(ctx.eps, s.steps)) {
      const projected = projectL1Box(x0, start, stage.eps, ctx.bounds);
      start.dispose();
      const stageBest = await runStage(ctx, s, rows, x0, projected, stage, best, { ...progress, offset });
      if (stageBest === null) return;
      start = stageBest;
      offset += stage.steps + 1;
    }
    start.dispose();
  } finally {
    x0.dispose();
  }
}

/** The schedule of a stage and the step it drives. */
interface Mover {
  control: StepControl;
  step(t: RunTensors, first: boolean): tf.Tensor4D;
}

function moverFor(
  ctx: AttackContext,
  s: ApgdSettings,
  stage: Stage,
  firstLoss: Float32Array,
  t: RunTensors,
): Mover {
  if (ctx.norm === 'l1') {
    const control = new ApgdL1StepControl(firstLoss, {
      steps: stage.steps,
      stepSize: stage.eps,
      dim: t.x0.size / t.x0.shape[0],
      startL0: changedValues(t.xAdv, t.x0),
    });
    return { control, step: (tensors) => sparseStep(tensors, control, stage.eps, ctx.bounds) };
  }
  const control = new ApgdStepControl(firstLoss, {
    steps: stage.steps,
    stepSize: INITIAL_STEP * stage.eps,
    rho: s.rho,
  });
  return {
    control,
    step: (tensors, first) =>
      momentumStep(ctx, tensors, control.stepSizes, stage.eps, first ? 1 : s.momentum),
  };
}

/**
 * Runs one stage from `start` (taken over) for the examples `startRows` (`x0`: their clean inputs). The final
 * stage hands its results to `best` and returns null; the others return their best points.
 */
async function runStage(
  ctx: AttackContext,
  s: ApgdSettings,
  startRows: Int32Array,
  x0: tf.Tensor4D,
  start: tf.Tensor4D,
  stage: Stage,
  best: ApgdBest,
  progress: RunProgress,
): Promise<tf.Tensor4D | null> {
  let rows = startRows;
  const first = ctx.gradient(start, lossFor(ctx, s, rows));
  const firstLoss = Float32Array.from(first.loss.dataSync());
  const firstMet = stage.final ? ctx.isAdversarial(first.logits, rows) : null;
  tf.dispose([first.logits, first.loss]);
  let t: RunTensors = {
    x0: x0.clone(),
    xAdv: start,
    xPrev: start.clone(),
    grad: first.grad,
    xBest: start.clone(),
    gradBest: first.grad.clone(),
  };
  try {
    const { control, step } = moverFor(ctx, s, stage, firstLoss, t);
    if (firstMet !== null) {
      best.acceptAdversarial(t.xAdv, rows, firstMet);
      ({ rows, t } = dropMet(t, rows, firstMet, control));
    }
    await ctx.yieldStep(progress.offset + 1, progress.total);
    for (let i = 0; i < stage.steps && rows.length > 0; i++) {
      const next = step(t, i === 0);
      t.xPrev.dispose();
      t.xPrev = t.xAdv;
      t.xAdv = next;
      // The last iterate is only scored: a forward pass, no gradient.
      const last = i === stage.steps - 1;
      const lossFn = lossFor(ctx, s, rows);
      const pass = last ? forwardOnly(ctx, t.xAdv, lossFn) : ctx.gradient(t.xAdv, lossFn);
      const met = stage.final ? ctx.isAdversarial(pass.logits, rows) : null;
      const lossValues = Float32Array.from(pass.loss.dataSync());
      tf.dispose([pass.logits, pass.loss]);
      if (pass.grad !== null) {
        t.grad.dispose();
        t.grad = pass.grad;
      }
      if (met !== null) best.acceptAdversarial(t.xAdv, rows, met);
      const improved = control.observe(lossValues);
      t.xBest = replaceRows(t.xBest, improved, t.xAdv);
      if (pass.grad !== null) t.gradBest = replaceRows(t.gradBest, improved, t.grad);
      const restart = control.checkpoint(() => changedValues(t.xBest, t.x0));
      if (restart !== null) {
        t.xAdv = replaceRows(t.xAdv, restart, t.xBest);
        t.grad = replaceRows(t.grad, restart, t.gradBest);
      }
      if (met !== null) ({ rows, t } = dropMet(t, rows, met, control));
      await ctx.yieldStep(progress.offset + i + 2, progress.total);
    }
    if (!stage.final) return t.xBest.clone();
    best.offer(t.xBest, rows, control.bestLoss);
    return null;
  } finally {
    tf.dispose(Object.values(t));
  }
}

/** Linf / L2: a normalised gradient step of the rows' step sizes, then the momentum mix; both projected. */
function momentumStep(
  ctx: AttackContext,
  t: RunTensors,
  stepSizes: Float32Array,
  eps: number,
  alpha: number,
): tf.Tensor4D {
  return tf.tidy(() => {
    const direction = ctx.norm === 'linf' ? tf.sign(t.grad) : normalizeGradient(t.grad, 'l2');
    const moved = tf.add<tf.Tensor4D>(t.xAdv, scaleRows(direction, tf.tensor1d(stepSizes)));
    const z = project(t.x0, moved, eps, ctx.norm, ctx.bounds);
    if (alpha === 1) return z;
    const mixed = tf.add<tf.Tensor4D>(
      tf.add(t.xAdv, tf.mul(tf.sub(z, t.xAdv), alpha)),
      tf.mul(tf.sub(t.xAdv, t.xPrev), 1 - alpha),
    );
    return project(t.x0, mixed, eps, ctx.norm, ctx.bounds);
  });
}

/**
 * L1 (l1-APGD): the sign of the gradient on the fraction `sparsity` of input values with the largest |grad|,
 * scaled to the L1 length of the row's step size, then the exact projection onto the ball and the box. No
 * momentum, as in the reference.
 */
function sparseStep(
  t: RunTensors,
  control: ApgdL1StepControl,
  eps: number,
  bounds: readonly [number, number],
): tf.Tensor4D {
  return tf.tidy(() => {
    const n = t.grad.shape[0];
    const d = t.grad.size / n;
    // As the reference: the values with |grad| at or above the one at rank (1 - sparsity) * d from the bottom.
    const counts = Int32Array.from(
      control.sparsity,
      (f) => d - Math.min(Math.max(Math.floor((1 - f) * d), 0), d - 1),
    );
    const kMax = Math.max(...counts);
    const magnitude = tf.abs(tf.reshape(t.grad, [n, d]));
    const ranked = tf.topk(magnitude, kMax).values;
    const threshold = tf.sum(
      tf.mul(
        ranked,
        tf.oneHot(
          tf.tensor1d(
            counts.map((k) => k - 1),
            'int32',
          ),
          kMax,
        ),
      ),
      1,
      true,
    );
    const chosen = tf.mul(
      tf.sign(tf.reshape(t.grad, [n, d])),
      tf.cast(tf.greaterEqual(magnitude, threshold), 'float32'),
    );
    const length = tf.add(tf.sum(tf.abs(chosen), 1, true), 1e-10);
    const step = tf.div(tf.mul(chosen, tf.reshape(tf.tensor1d(control.stepSizes), [n, 1])), length);
    const moved = tf.add<tf.Tensor4D>(t.xAdv, tf.reshape(step, t.xAdv.shape));
    return projectL1Box(t.x0, moved, eps, bounds);
  });
}

/** How many input values differ between a and b, per row. */
function changedValues(a: tf.Tensor4D, b: tf.Tensor4D): Float32Array {
  const counts = tf.tidy(() => tf.sum(tf.cast(tf.notEqual(a, b), 'float32'), [1, 2, 3]));
  const values = Float32Array.from(counts.dataSync());
  counts.dispose();
  return values;
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
  control: StepControl,
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
