import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../../models/model.js';
import type { Rng } from '../../util/rng.js';
import { gatherRows } from '../../util/rows.js';
import type { AdversarialNorm } from './options.js';
import { perturbIterative } from './perturb.js';
import { klToTarget } from './softmax-gradients.js';

/** Standard deviation of TRADES' starting noise (the reference implementation's 0.001 * randn). */
export const TRADES_START_NOISE = 0.001;

export interface TradesPerturbSettings {
  eps: number;
  norm: AdversarialNorm;
  steps: number;
  stepSize: number;
}

/**
 * TRADES' inner maximisation (Zhang et al. 2019, Algorithm 1): x' = argmax over the ball of
 * KL(softmax f(x) || softmax f(x')), from x + 0.001 * N(0, 1) (noise from `rng`), by `steps` steps of
 * stepSize along sign(g) (linf) or g / ||g||_2 (l2), each projected onto the ball and the bounds: perturbIterative
 * (the attacks' iterative engine) with the KL as its objective and its own start. The model runs in inference
 * mode (the reference code calls model.eval() here); the KL's gradient comes from klToTarget, accurate on
 * confident predictions. The caller disposes the result.
 */
export async function tradesPerturb(
  model: Model,
  x: tf.Tensor4D,
  labels: Int32Array,
  s: TradesPerturbSettings,
  rng: Rng,
): Promise<tf.Tensor4D> {
  const targetLogProbs = tf.tidy(() => tf.logSoftmax(model.logits(x)));
  try {
    return await perturbIterative(
      model,
      x,
      labels,
      {
        ...s,
        randomStart: (x0) => {
          const noise = Float32Array.from({ length: x0.size }, () => TRADES_START_NOISE * rng.normal());
          return tf.tidy(() => tf.add<tf.Tensor4D>(x0, tf.tensor(noise, x0.shape)));
        },
        loss: (z, rows) => tf.tidy(() => klToTarget(gatherRows(targetLogProbs, rows), z)),
      },
      rng,
    );
  } finally {
    targetLogProbs.dispose();
  }
}

/**
 * TRADES' outer loss per batch, on training-mode logits of the clean and the adversarial images:
 * mean CE(clean, y) (label-smoothed when asked) + beta * mean KL(softmax clean || softmax adversarial), the KL
 * through log-softmax. Gradients flow through both logits, as in the reference implementation.
 */
export function tradesLoss(
  cleanLogits: tf.Tensor2D,
  advLogits: tf.Tensor2D,
  cleanCrossEntropy: tf.Scalar,
  beta: number,
): tf.Scalar {
  return tf.tidy(() => {
    const logP = tf.logSoftmax(cleanLogits);
    const kl = tf.mean(tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, tf.logSoftmax(advLogits))), 1));
    return tf.add(cleanCrossEntropy, tf.mul(kl, beta));
  });
}
