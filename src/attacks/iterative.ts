import * as tf from '@tensorflow/tfjs-core';
import { attackObjective, type LossName } from './losses.js';
import { batchNorm, normalizeGradient, project, randomInBall, scaleRows } from './norms.js';
import type { AttackContext } from './types.js';

/**
 * The one gradient engine of the iterative family (FGSM, BIM, PGD, MI-FGSM are configurations of it), as in
 * Foolbox's gradient-descent base: optional random start in the ball, steps along the normalised gradient (or
 * its momentum), projection onto the ball and the bounds after each step, restarts that keep the best result
 * per example, and per-example early stop.
 */
export interface IterativeSettings {
  steps: number;
  /** Absolute step size in input units (for L1: the L1 length of one step). */
  stepSize: number;
  randomStart: boolean;
  /** Independent runs; later runs only attack the examples that are still not adversarial. */
  restarts: number;
  loss: LossName;
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
  const n = ctx.x.shape[0];
  const dim = ctx.x.size / n;
  const best = Float32Array.from(ctx.x.dataSync());
  const bestLoss = new Float32Array(n).fill(-Infinity);
  const done = new Uint8Array(n);
  const totalSteps = s.restarts * (s.steps + 1);
  for (let restart = 0; restart < s.restarts; restart++) {
    const rows = indicesWhere(done, 0);
    if (rows.length === 0) break;
    await runOnce(ctx, s, rows, restart, { best, bestLoss, done, dim, totalSteps });
  }
  return tf.tensor4d(best, ctx.x.shape);
}

interface Tracker {
  best: Float32Array;
  bestLoss: Float32Array;
  done: Uint8Array;
  dim: number;
  totalSteps: number;
}

async function runOnce(
  ctx: AttackContext,
  s: IterativeSettings,
  startRows: Int32Array,
  restart: number,
  t: Tracker,
): Promise<void> {
  let rows = startRows;
  let x0 = gatherRows(ctx.x, rows);
  let xAdv = s.randomStart ? randomStart(ctx, x0) : x0.clone();
  let momentum: tf.Tensor4D | null = null;
  try {
    for (let step = 0; step <= s.steps && rows.length > 0; step++) {
      const lossFn = lossFor(ctx, s, rows);
      const last = step === s.steps;
      if (last && s.restarts === 1) {
        // Nothing left to compare the last iterate with: keep it unscored (the runner scores every result).
        record(t, xAdv, rows, new Uint8Array(rows.length), new Float32Array(rows.length), true);
        break;
      }
      // The last point only needs scoring: a forward pass, no gradient.
      const pass = last ? forwardOnly(ctx, xAdv, lossFn) : ctx.gradient(xAdv, lossFn);
      // Without early stop only the end point is recorded: intermediate steps read nothing back.
      const scored = s.earlyStop || last;
      const adversarial = scored ? ctx.isAdversarial(pass.logits, rows) : null;
      const lossValues = scored ? pass.loss.dataSync() : null;
      pass.logits.dispose();
      pass.loss.dispose();
      // Record: adversarial points always (early stop) or at the end; the highest-loss point otherwise.
      if (adversarial !== null && lossValues !== null) record(t, xAdv, rows, adversarial, lossValues, last);
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
        const kept = rows;
        rows = keep.map((i) => kept[i]);
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
      await ctx.yieldStep(restart * (s.steps + 1) + step + 1, t.totalSteps);
    }
  } finally {
    tf.dispose([x0, xAdv]);
    momentum?.dispose();
  }
}

function forwardOnly(
  ctx: AttackContext,
  x: tf.Tensor4D,
  lossFn: (z: tf.Tensor2D) => tf.Tensor1D,
): { logits: tf.Tensor2D; loss: tf.Tensor1D; grad: null } {
  const logits = ctx.logits(x);
  return { logits, loss: lossFn(logits), grad: null };
}

function lossFor(
  ctx: AttackContext,
  s: IterativeSettings,
  rows: Int32Array,
): (z: tf.Tensor2D) => tf.Tensor1D {
  return (z) =>
    tf.tidy(() => {
      const labels = tf.tensor1d(pick(ctx.labels, rows), 'int32');
      const targets = ctx.targets ? tf.tensor1d(pick(ctx.targets, rows), 'int32') : null;
      return attackObjective(s.loss, z, labels, { targets, confidence: s.confidence });
    });
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
  const step =
    ctx.norm === 'l1'
      ? sparseL1Step(g, xAdv, ctx.bounds, s.l1Sparsity, s.stepSize)
      : tf.tidy((): tf.Tensor4D =>
          tf.mul(normalizeGradient(g, ctx.norm === 'linf' ? 'linf' : 'l2'), s.stepSize),
        );
  return { step, momentum };
}

/**
 * The sparse L1 step of Croce & Hein 2021 ("Mind the box: l1-APGD for sparse adversarial attacks on image
 * classifiers", sec. 3): only coordinates that can still move in the gradient's direction inside the box are
 * candidates; of those the fraction `sparsity` with the largest |g| move by sign(g), scaled so the step's L1
 * length is `stepSize`.
 */
function sparseL1Step(
  g: tf.Tensor4D,
  xAdv: tf.Tensor4D,
  bounds: readonly [number, number],
  sparsity: number,
  stepSize: number,
): tf.Tensor4D {
  return tf.tidy(() => {
    const n = g.shape[0];
    const d = g.size / n;
    const k = Math.max(1, Math.min(d, Math.round(sparsity * d)));
    const flatG = tf.reshape(g, [n, d]);
    const flatX = tf.reshape(xAdv, [n, d]);
    const blocked = tf.logicalOr(
      tf.logicalAnd(tf.greaterEqual(flatX, bounds[1]), tf.greater(flatG, 0)),
      tf.logicalAnd(tf.lessEqual(flatX, bounds[0]), tf.less(flatG, 0)),
    );
    const score = tf.where(blocked, tf.zerosLike(flatG), tf.abs(flatG));
    const kth = tf.slice(tf.topk(score, k).values, [0, k - 1], [n, 1]);
    const chosen = tf.logicalAnd(tf.greaterEqual(score, kth), tf.greater(score, 0));
    const u = tf.mul(tf.sign(flatG), tf.cast(chosen, 'float32'));
    const count = tf.maximum(tf.sum(tf.abs(u), 1, true), 1);
    return tf.reshape(tf.mul(tf.div(u, count), stepSize), g.shape);
  });
}

function randomStart(ctx: AttackContext, x0: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const noise = randomInBall(x0.shape, ctx.eps, ctx.norm, ctx.rng);
    return project(x0, tf.add(x0, noise), ctx.eps, ctx.norm, ctx.bounds);
  });
}

function record(
  t: Tracker,
  xAdv: tf.Tensor4D,
  rows: Int32Array,
  adversarial: Uint8Array,
  loss: ArrayLike<number>,
  last: boolean,
): void {
  const chosen: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const isAdv = adversarial[i] === 1;
    // A non-adversarial end point only replaces an earlier restart's if its loss is higher.
    const better = last && t.done[r] === 0 && loss[i] > t.bestLoss[r];
    if (isAdv || better) chosen.push(i);
  }
  if (chosen.length === 0) return;
  // Download only the rows being kept.
  const picked = chosen.length === rows.length ? xAdv.clone() : gatherRows(xAdv, Int32Array.from(chosen));
  const values = picked.dataSync();
  picked.dispose();
  chosen.forEach((i, k) => {
    const r = rows[i];
    t.best.set(values.subarray(k * t.dim, (k + 1) * t.dim), r * t.dim);
    t.bestLoss[r] = loss[i];
    if (adversarial[i] === 1) t.done[r] = 1;
  });
}

function gatherRows(x: tf.Tensor4D, rows: Int32Array): tf.Tensor4D {
  if (rows.length === x.shape[0]) return x.clone();
  return tf.tidy(() => tf.gather(x, tf.tensor1d(rows, 'int32')));
}

/** Keeps rows `keep` of t and disposes t. */
function takeRows(t: tf.Tensor4D, keep: Int32Array): tf.Tensor4D {
  const out = tf.tidy(() => tf.gather(t, tf.tensor1d(keep, 'int32')));
  t.dispose();
  return out;
}

function pick(values: Int32Array, rows: Int32Array): Int32Array {
  return rows.map((r) => values[r]);
}

function indicesWhere(flags: Uint8Array, value: number): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < flags.length; i++) if (flags[i] === value) out.push(i);
  return Int32Array.from(out);
}

function allRows(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}
