import * as tf from '@tensorflow/tfjs-core';
import { attackObjective } from './losses.js';

export const APGD_LOSSES = ['ce', 'dlr'] as const;
export type ApgdLoss = (typeof APGD_LOSSES)[number];

/**
 * The per-example loss APGD ascends, targeted when `targets` is given.
 * - 'ce': attackObjective's log-odds form, a strictly increasing function of the cross-entropy per example: the
 *   normalised steps and every comparison of the step-size schedule are CE's, but its gradient does not underflow
 *   on confident predictions.
 * - 'dlr': the Difference of Logits Ratio (Croce & Hein 2020, eq. 5 and its targeted form), as losses.ts
 *   defines it.
 */
export function apgdObjective(
  loss: ApgdLoss,
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  targets: tf.Tensor1D | null,
): tf.Tensor1D {
  return attackObjective(loss, logits, labels, { targets });
}
