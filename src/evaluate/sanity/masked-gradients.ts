import * as tf from '@tensorflow/tfjs-core';
import { attackObjective } from '../../attacks/losses.js';
import type { SanityFlag } from '../report-types.js';
import { forEachBatch, pct, type ModelSample } from './model-sample.js';

/** Flag when at least this share of the sample has a zero or non-finite gradient. */
const MASKED_GRADIENT_SHARE = 0.1;

/**
 * Are the input gradients zero or non-finite for many points? Gradient attacks cannot move such points, so
 * their robustness is an artefact of masked or obfuscated gradients (Carlini et al. 2019, "On Evaluating
 * Adversarial Robustness"; Athalye, Carlini & Wagner 2018; AutoAttack's check_zero_gradients, Croce & Hein
 * 2020). The gradient is the one the attacks ascend: attackObjective('ce'), the log-odds form of the
 * cross-entropy, which does not underflow on confident points the way the cross-entropy's own gradient does,
 * so a zero here is the model's doing. Flags when >= 10% of the sample has an all-zero or non-finite gradient.
 * Cost: one gradient per sample point.
 */
export async function checkMaskedGradients(sample: ModelSample): Promise<SanityFlag | null> {
  const { classifier } = sample;
  let zero = 0;
  let nonFinite = 0;
  await forEachBatch(
    sample,
    (xb, labels) => {
      const grad = tf.grad((x: tf.Tensor) => {
        const logits = classifier.logits(tf.reshape<tf.Rank.R4>(x, xb.shape));
        return tf.sum(attackObjective('ce', logits, labels, { targets: null }));
      })(xb);
      // Per row: the largest |gradient|, NaN when any entry is NaN or infinite.
      const finite = tf.all(tf.isFinite(grad), [1, 2, 3]);
      return tf.where(finite, tf.max(tf.abs(grad), [1, 2, 3]), tf.fill([xb.shape[0]], NaN));
    },
    (largest) => {
      for (const v of largest) {
        if (Number.isNaN(v)) nonFinite++;
        else if (v === 0) zero++;
      }
    },
  );
  const n = sample.x.shape[0];
  const share = (zero + nonFinite) / n;
  if (share < MASKED_GRADIENT_SHARE) return null;
  return {
    id: 'masked-gradients',
    severity: 'warning',
    title: 'Gradients are zero or non-finite for many points',
    detail:
      `The input gradient of the cross-entropy loss is zero for ${zero} and non-finite for ${nonFinite} of ` +
      `${n} points (${pct(share)}): gradient attacks cannot move these points.`,
    advice:
      'Robustness measured by gradient attacks is not trustworthy here (masked or obfuscated gradients). ' +
      'Remove non-differentiable steps from the forward pass (rounding, quantization, JPEG, thresholds) or ' +
      'replace them by a differentiable approximation in the backward pass (BPDA, Athalye et al. 2018); ' +
      'average gradients over the randomness of randomized steps (EOT); and confirm with a black-box attack ' +
      '(square).',
  };
}
