import * as tf from '@tensorflow/tfjs-core';
import { attackObjective, classLogit, maxOther } from './losses.js';

export const APGD_LOSSES = ['ce', 'dlr'] as const;
export type ApgdLoss = (typeof APGD_LOSSES)[number];

/**
 * The per-example loss APGD ascends, targeted when `targets` is given.
 * - 'ce': attackObjective's log-odds form, a strictly increasing function of the cross-entropy per example: the
 *   normalised steps and every comparison of the step-size schedule are CE's, but its gradient does not underflow
 *   on confident predictions.
 * - 'dlr': the Difference of Logits Ratio (Croce & Hein 2020, eq. 5 and its targeted form):
 *   -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3 + 1e-12), targeted -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2 +
 *   1e-12), as losses.ts defines it, but with the sorted logits z_pi picked by argMax masks: tf.topk, which
 *   losses.ts uses, has no gradient in tfjs 4.22.
 */
export function apgdObjective(
  loss: ApgdLoss,
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  targets: tf.Tensor1D | null,
): tf.Tensor1D {
  if (loss === 'ce') return attackObjective('ce', logits, labels, { targets });
  return tf.tidy((): tf.Tensor1D => {
    const z = sortedLogits(logits, targets === null ? 3 : 4);
    const zy = classLogit(logits, labels);
    if (targets === null) {
      const denominator: tf.Tensor1D = tf.add(tf.sub(z[0], z[2]), 1e-12);
      return tf.neg(tf.div<tf.Tensor1D>(tf.sub(zy, maxOther(logits, labels)), denominator));
    }
    const denominator: tf.Tensor1D = tf.add(tf.sub(z[0], tf.mul(0.5, tf.add(z[2], z[3]))), 1e-12);
    return tf.neg(tf.div<tf.Tensor1D>(tf.sub(zy, classLogit(logits, targets)), denominator));
  });
}

/**
 * The `count` largest logits per row, largest first (the last class repeats when there are fewer classes). The
 * indices come from argMax, whose gradient is zero, so the values are differentiable in the logits.
 */
export function sortedLogits(logits: tf.Tensor2D, count: number): tf.Tensor1D[] {
  return tf.tidy(() => {
    const k = logits.shape[1];
    // Below every logit of its row, in the row's own scale.
    const spread = tf.add(tf.sub(tf.max(logits, 1, true), tf.min(logits, 1, true)), 1);
    const out: tf.Tensor1D[] = [];
    let rest: tf.Tensor2D = logits;
    for (let i = 0; i < count; i++) {
      const index: tf.Tensor1D = tf.argMax(rest, 1);
      out.push(classLogit(logits, index));
      if (i + 1 < Math.min(count, k)) rest = tf.sub(rest, tf.mul(tf.oneHot(index, k), spread));
    }
    return out;
  });
}
