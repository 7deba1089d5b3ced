import * as tf from '@tensorflow/tfjs-core';
import { field, type Params } from '../util/schema.js';
import { classLogit } from './losses.js';
import { batchNorm, scaleRows } from './norms.js';
import { defineAttack, type AttackContext } from './types.js';

const schema = {
  steps: field.integer({ default: 50, min: 1, description: 'Maximum number of linearisation steps.' }),
  candidates: field.integer({
    default: 10,
    min: 2,
    description: 'Classes considered: the top-k by clean logit, the true class included.',
  }),
  overshoot: field.number({
    default: 0.02,
    min: 0,
    description: 'eta: the accumulated perturbation is applied times (1 + eta) to cross the boundary.',
  }),
};

type DeepFoolParams = Params<typeof schema>;

/** Added to each step's length (the authors' reference and Foolbox: "for numerical stability"). */
const STEP_PAD = 1e-4;
const NORM_FLOOR = 1e-8;

/**
 * DeepFool (Moosavi-Dezfooli, Fawzi & Frossard 2016, "DeepFool: a simple and accurate method to fool deep
 * neural networks", Algorithm 2 and sec. 3.3 for Linf), untargeted, as the authors' reference code and
 * Foolbox's L2DeepFoolAttack / LinfDeepFoolAttack run it. At each step the classifier is linearised around
 * the current point x_i: for each candidate class k, f_k = Z_k - Z_y and w_k = grad f_k; the closest
 * linearised boundary is l = argmin_k |f_k| / ||w_k||_q (q = 2 for L2, 1 for Linf) and the step to it is
 *   L2:   r_i = (|f_l| / ||w_l||_2 + 1e-4) * w_l / ||w_l||_2
 *   Linf: r_i = (|f_l| / ||w_l||_1 + 1e-4) * sign(w_l).
 * The next point is x_0 + (1 + overshoot) * sum_i r_i, clipped to the bounds; an example stops as soon as
 * its prediction is no longer y. Candidates are the top `candidates` classes by clean logit (the paper's
 * experiments and Foolbox restrict to the top 10), one gradient per candidate other than y and step.
 * Returns the point where each example stopped, or its last iterate when `steps` ran out.
 *
 * Parameters (defaults as the paper and Foolbox): steps 50, candidates 10, overshoot 0.02. Loss: the logit
 * differences of the paper.
 *
 * @example runAttack(model, deepfool, { x, labels, norm: 'l2', eps: [0.5, 1, 2] })
 */
export const deepfool = defineAttack({
  name: 'deepfool',
  title: 'DeepFool (Moosavi-Dezfooli et al. 2016): minimal perturbation by linearisation, L2 / Linf',
  norms: ['l2', 'linf'],
  budget: 'minimal',
  targeted: false,
  schema,
  run: deepFool,
});

async function deepFool(ctx: AttackContext, p: DeepFoolParams): Promise<tf.Tensor4D> {
  const n = ctx.x.shape[0];
  const dim = ctx.x.size / n;
  const out = Float32Array.from(ctx.x.dataSync());
  const clean = ctx.logits(ctx.x);
  const misclassified = ctx.isAdversarial(
    clean,
    Int32Array.from({ length: n }, (_, i) => i),
  );
  const others = candidateClasses(
    clean.dataSync(),
    ctx.labels,
    Math.min(p.candidates, ctx.classifier.numClasses),
  );
  clean.dispose();
  let rows = Int32Array.from(misclassified.keys()).filter((i) => misclassified[i] === 0);
  if (rows.length === 0) return tf.tensor4d(out, ctx.x.shape);
  let x0 = tf.tidy(() => tf.gather(ctx.x, tf.tensor1d(rows, 'int32')));
  let point = x0.clone();
  let total = tf.zerosLike(x0);
  const [lo, hi] = ctx.bounds;
  try {
    for (let step = 0; step < p.steps && rows.length > 0; step++) {
      const move = stepToClosestBoundary(ctx, point, rows, others);
      const summed = tf.add<tf.Tensor4D>(total, move);
      move.dispose();
      total.dispose();
      total = summed;
      point.dispose();
      point = tf.tidy(() => tf.clipByValue(tf.add<tf.Tensor4D>(x0, tf.mul(total, 1 + p.overshoot)), lo, hi));
      const logits = ctx.logits(point);
      const crossed = ctx.isAdversarial(logits, rows);
      logits.dispose();
      const values = point.dataSync();
      rows.forEach((r, i) => out.set(values.subarray(i * dim, (i + 1) * dim), r * dim));
      if (crossed.includes(1)) {
        const keep = Int32Array.from(crossed.keys()).filter((i) => crossed[i] === 0);
        const current = rows;
        rows = keep.map((i) => current[i]);
        [x0, point, total] = [x0, point, total].map((t) => {
          const kept = tf.tidy(() => tf.gather(t, tf.tensor1d(keep, 'int32')));
          t.dispose();
          return kept;
        });
      }
      await ctx.yieldStep(step + 1, p.steps);
    }
  } finally {
    tf.dispose([x0, point, total]);
  }
  return tf.tensor4d(out, ctx.x.shape);
}

/**
 * Per example, the candidate classes other than its label: the top k by clean logit, without the label
 * (for an example still classified correctly the label is the top class, so k - 1 remain).
 */
function candidateClasses(logits: ArrayLike<number>, labels: Int32Array, k: number): Int32Array[] {
  const n = labels.length;
  const classes = logits.length / Math.max(n, 1);
  const others = Array.from({ length: k - 1 }, () => new Int32Array(n));
  for (let i = 0; i < n; i++) {
    const order = Array.from({ length: classes }, (_, j) => j)
      .sort((a, b) => logits[i * classes + b] - logits[i * classes + a])
      .filter((j) => j !== labels[i]);
    for (let j = 0; j < k - 1; j++) others[j][i] = order[j];
  }
  return others;
}

/** The step r_i towards the closest linearised boundary among the candidates, for each row. */
function stepToClosestBoundary(
  ctx: AttackContext,
  point: tf.Tensor4D,
  rows: Int32Array,
  others: Int32Array[],
): tf.Tensor4D {
  const dual = ctx.norm === 'linf' ? 'l1' : 'l2';
  const labels = tf.tensor1d(
    rows.map((r) => ctx.labels[r]),
    'int32',
  );
  let closest: { distance: tf.Tensor1D; grad: tf.Tensor4D } | null = null;
  try {
    for (const candidate of others) {
      const cls = tf.tensor1d(
        rows.map((r) => candidate[r]),
        'int32',
      );
      const g = ctx.gradient(point, (z) => tf.tidy(() => tf.sub(classLogit(z, cls), classLogit(z, labels))));
      cls.dispose();
      const distance = tf.tidy(() =>
        tf.div<tf.Tensor1D>(tf.abs(g.loss), tf.add(batchNorm(g.grad, dual), NORM_FLOOR)),
      );
      tf.dispose([g.logits, g.loss]);
      if (closest === null) {
        closest = { distance, grad: g.grad };
        continue;
      }
      const previous: { distance: tf.Tensor1D; grad: tf.Tensor4D } = closest;
      // Strictly closer only: ties keep the earlier (higher-ranked) class, like an arg-min.
      closest = tf.tidy(() => {
        const closer = tf.less(distance, previous.distance);
        return {
          distance: tf.where(closer, distance, previous.distance),
          grad: tf.where(tf.reshape(closer, [rows.length, 1, 1, 1]), g.grad, previous.grad),
        };
      });
      tf.dispose([distance, g.grad, previous.distance, previous.grad]);
    }
  } catch (err) {
    if (closest !== null) tf.dispose([closest.distance, closest.grad]);
    throw err;
  } finally {
    labels.dispose();
  }
  if (closest === null) return tf.zerosLike(point);
  const { distance, grad } = closest;
  const step = tf.tidy((): tf.Tensor4D => {
    const length: tf.Tensor1D = tf.add(distance, STEP_PAD);
    if (ctx.norm === 'linf') return scaleRows(tf.sign(grad), length);
    return scaleRows(grad, tf.div(length, tf.add(batchNorm(grad, 'l2'), NORM_FLOOR)));
  });
  tf.dispose([distance, grad]);
  return step;
}
