import * as tf from '@tensorflow/tfjs-core';
import { allRows, gatherRows, indicesWhere, takeRows } from '../util/rows.js';
import { forwardPass } from './attack-context.js';
import { BestPoints } from './best-points.js';
import { presetObjective, type LossName } from './losses.js';
import { batchNorm, normalizeGradient, project, randomStart, scaleRows, sparseL1Step } from './norms.js';
import type { AttackContext } from './types.js';

/**
 * What the engine ascends, per example: a Tensor1D from the logits of the examples `rows` (indices into the
 * batch, so that the objective can pick its per-example data: labels, targets, clean logits).
 */
export type Objective = (logits: tf.Tensor2D, rows: Int32Array) => tf.Tensor1D;

/** A starting point for the examples `rows`, whose clean inputs are x0; the engine projects it. */
export type StartPoint = (x0: tf.Tensor4D, rows: Int32Array) => tf.Tensor4D;

/**
 * The one gradient engine of the iterative family (FGSM, BIM, PGD, MI-FGSM are configurations of it, and so is
 * TRADES' inner maximisation), as in Foolbox's gradient-descent base: a start (the clean input, uniform in the
 * ball, or the caller's), steps along the normalised gradient (or its momentum) of an objective, projection onto
 * the ball and the bounds after each step, restarts that keep the best result per example, and per-example
 * early stop.
 */
export interface IterativeSettings {
  steps: number;
  /** Absolute step size in input units (for L1: the L1 length of one step). */
  stepSize: number;
  /** false: the clean input; true: uniform in the eps-ball (norms.ts randomStart); a function: its point. */
  randomStart: boolean | StartPoint;
  /** Independent runs; later runs only attack the examples that are still not adversarial. */
  restarts: number;
  /** A preset of losses.ts (on the context's labels and targets) or the caller's objective. */
  loss: LossName | Objective;
  /** MI-FGSM decay mu (Dong et al. 2018); 0 turns momentum off. */
  momentum: number;
  /**
   * Stop an example as soon as it is adversarial and keep that point (on for evaluation). Off: every example
   * runs all steps and the last iterate is returned (the full trajectory, e.g. for adversarial training).
   */
  earlyStop: boolean;
  /** L1 only: fraction of the input values changed by one sparse step. */
  l1Sparsity: number;
  /** C&W confidence when loss is 'cw'. */
  confidence?: number;
}

export async function iterativeAttack(ctx: AttackContext, s: IterativeSettings): Promise<tf.Tensor4D> {
  const best = new BestPoints(ctx.x);
  const objective =
    typeof s.loss === 'function'
      ? s.loss
      : presetObjective(s.loss, ctx.labels, ctx.targets, { confidence: s.confidence });
  const totalSteps = s.restarts * (s.steps + 1);
  for (let restart = 0; restart < s.restarts; restart++) {
    const rows = best.pending();
    if (rows.length === 0) break;
    await runOnce(ctx, s, objective, rows, best, { offset: restart * (s.steps + 1), total: totalSteps });
  }
  return best.result();
}

async function runOnce(
  ctx: AttackContext,
  s: IterativeSettings,
  objective: Objective,
  startRows: Int32Array,
  best: BestPoints,
  progress: { offset: number; total: number },
): Promise<void> {
  let rows = startRows;
  let x0 = gatherRows(ctx.x, rows);
  let xAdv = startPoint(ctx, s, x0, rows);
  let momentum: tf.Tensor4D | null = null;
  try {
    for (let step = 0; step <= s.steps && rows.length > 0; step++) {
      const current = rows;
      const lossFn = (z: tf.Tensor2D): tf.Tensor1D => objective(z, current);
      const last = step === s.steps;
      if (last && s.restarts === 1) {
        // Nothing left to compare the last iterate with: keep it unscored (the runner scores every result).
        best.record(xAdv, rows, null, new Float32Array(rows.length).fill(Infinity));
        break;
      }
      // The last point only needs scoring: a forward pass, no gradient.
      const pass = last ? forwardPass(ctx, xAdv, lossFn) : ctx.gradient(xAdv, lossFn);
      // Without early stop only the end point is recorded: intermediate steps read nothing back.
      const scored = s.earlyStop || last;
      const adversarial = scored ? ctx.isAdversarial(pass.logits, rows) : null;
      // Adversarial points always (early stop) or at the end; at the end also the highest-loss point.
      if (adversarial !== null) best.record(xAdv, rows, adversarial, last ? pass.loss.dataSync() : null);
      pass.logits.dispose();
      pass.loss.dispose();
      if (pass.grad === null) break;
      const grad = pass.grad;
      const keep = adversarial !== null && s.earlyStop ? indicesWhere(adversarial, 0) : allRows(rows.length);
      const direction = stepDirection(ctx, s, grad, xAdv, momentum);
      grad.dispose();
      let delta = direction.step;
      if (s.momentum > 0) {
        momentum?.dispose();
        momentum = direction.momentum;
      }
      if (keep.length < rows.length) {
        x0 = takeRows(x0, keep);
        xAdv = takeRows(xAdv, keep);
        delta = takeRows(delta, keep);
        if (momentum) momentum = takeRows(momentum, keep);
        rows = keep.map((i) => current[i]);
      }
      if (rows.length === 0) {
        delta.dispose();
        break;
      }
      const moved = tf.tidy((): tf.Tensor4D => tf.add(xAdv, delta));
      delta.dispose();
      const next = project(x0, moved, ctx.eps, ctx.norm, ctx.bounds);
      moved.dispose();
      xAdv.dispose();
      xAdv = next;
      await ctx.yieldStep(progress.offset + step + 1, progress.total);
    }
  } finally {
    tf.dispose([x0, xAdv]);
    momentum?.dispose();
  }
}

function startPoint(
  ctx: AttackContext,
  s: IterativeSettings,
  x0: tf.Tensor4D,
  rows: Int32Array,
): tf.Tensor4D {
  if (s.randomStart === false) return x0.clone();
  if (s.randomStart === true) return randomStart(x0, ctx.eps, ctx.norm, ctx.bounds, ctx.rng);
  const start = s.randomStart(x0, rows);
  const projected = project(x0, start, ctx.eps, ctx.norm, ctx.bounds);
  start.dispose();
  return projected;
}

/** The step to add (already scaled by the step size) and, with momentum, the new momentum buffer. */
function stepDirection(
  ctx: AttackContext,
  s: IterativeSettings,
  grad: tf.Tensor4D,
  xAdv: tf.Tensor4D,
  previous: tf.Tensor4D | null,
): { step: tf.Tensor4D; momentum: tf.Tensor4D | null } {
  let g = grad;
  let momentum: tf.Tensor4D | null = null;
  if (s.momentum > 0) {
    // MI-FGSM: g_{t+1} = mu * g_t + grad / ||grad||_1.
    momentum = tf.tidy((): tf.Tensor4D => {
      const unit = scaleRows(grad, tf.div(1, tf.maximum(batchNorm(grad, 'l1'), 1e-12)));
      return previous ? tf.add(tf.mul(previous, s.momentum), unit) : unit;
    });
    g = momentum;
  }
  if (ctx.norm === 'l1') {
    const n = g.shape[0];
    const count = Math.round((s.l1Sparsity * g.size) / n);
    return {
      step: sparseL1Step(g, new Int32Array(n).fill(count), new Float32Array(n).fill(s.stepSize), {
        x: xAdv,
        bounds: ctx.bounds,
      }),
      momentum,
    };
  }
  const step = tf.tidy((): tf.Tensor4D =>
    tf.mul(normalizeGradient(g, ctx.norm === 'linf' ? 'linf' : 'l2'), s.stepSize),
  );
  return { step, momentum };
}
