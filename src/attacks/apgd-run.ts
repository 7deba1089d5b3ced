import * as tf from '@tensorflow/tfjs-core';
import { gatherRows, indicesWhere, takeRows } from '../util/rows.js';
import { forwardPass } from './attack-context.js';
import { ApgdL1StepControl, ApgdStepControl, type StepControl } from './apgd-step-schedule.js';
import { apgdObjective, type ApgdLoss } from './apgd-loss.js';
import type { BestPoints } from './best-points.js';
import { normalizeGradient, project, projectL1Box, randomStart, scaleRows, sparseL1Step } from './norms.js';
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
  best: BestPoints,
  progress: RunProgress,
): Promise<void> {
  const x0 = gatherRows(ctx.x, rows);
  try {
    if (ctx.norm !== 'l1') {
      const start = randomStart(x0, ctx.eps, ctx.norm, ctx.bounds, ctx.rng);
      await runStage(ctx, s, rows, x0, start, { eps: ctx.eps, steps: s.steps, final: true }, best, progress);
      return;
    }
    // As the reference: Gaussian noise of unit variance projected onto the largest ball (not the uniform
    // ball sample of the Linf / L2 start: l1-APGD's reference code starts this way).
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
  best: BestPoints,
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
      best.record(t.xAdv, rows, firstMet, null);
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
      const pass = last ? forwardPass(ctx, t.xAdv, lossFn) : ctx.gradient(t.xAdv, lossFn);
      const met = stage.final ? ctx.isAdversarial(pass.logits, rows) : null;
      const lossValues = Float32Array.from(pass.loss.dataSync());
      tf.dispose([pass.logits, pass.loss]);
      if (pass.grad !== null) {
        t.grad.dispose();
        t.grad = pass.grad;
      }
      if (met !== null) best.record(t.xAdv, rows, met, null);
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
    best.record(t.xBest, rows, null, control.bestLoss);
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
 * L1 (l1-APGD): the sparse step (norms.ts sparseL1Step, without the box filter, as the reference code) on the
 * fraction `sparsity` of input values with the largest |grad|, of the row's step size, then the exact projection
 * onto the ball and the box. No momentum, as in the reference.
 */
function sparseStep(
  t: RunTensors,
  control: ApgdL1StepControl,
  eps: number,
  bounds: readonly [number, number],
): tf.Tensor4D {
  return tf.tidy(() => {
    const d = t.grad.size / t.grad.shape[0];
    // As the reference: the values with |grad| at or above the one at rank (1 - sparsity) * d from the bottom.
    const counts = Int32Array.from(
      control.sparsity,
      (f) => d - Math.min(Math.max(Math.floor((1 - f) * d), 0), d - 1),
    );
    const step = sparseL1Step(t.grad, counts, control.stepSizes, null);
    return projectL1Box(t.x0, tf.add<tf.Tensor4D>(t.xAdv, step), eps, bounds);
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
  const keep = indicesWhere(met, 0);
  control.keep(keep);
  const take = (x: tf.Tensor4D): tf.Tensor4D => takeRows(x, keep);
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
