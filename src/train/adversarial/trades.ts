import * as tf from '@tensorflow/tfjs-core';
import { BatchContext } from '../../attacks/attack-context.js';
import { normalizeGradient, project } from '../../attacks/norms.js';
import type { Classifier } from '../../models/classifier.js';
import type { Rng } from '../../util/rng.js';
import type { AdversarialNorm } from './options.js';
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
 * stepSize along sign(g) (linf) or g / ||g||_2 (l2), each projected onto the ball and the bounds. The model
 * runs in inference mode (the reference code calls model.eval() here); the KL's gradient comes from
 * klToTarget, accurate on confident predictions. Reaches the model through a BatchContext, like the attacks.
 * The caller disposes the result.
 */
export async function tradesPerturb(
  classifier: Classifier,
  x: tf.Tensor4D,
  labels: Int32Array,
  s: TradesPerturbSettings,
  rng: Rng,
): Promise<tf.Tensor4D> {
  const ctx = new BatchContext({ classifier, x, labels, targets: null, eps: s.eps, norm: s.norm, rng });
  const targetLogProbs = tf.tidy(() => tf.logSoftmax(ctx.logits(x)));
  let xAdv = tf.tidy(() => {
    const noise = new Float32Array(x.size);
    for (let i = 0; i < noise.length; i++) noise[i] = TRADES_START_NOISE * rng.normal();
    return project(x, tf.add(x, tf.tensor(noise, x.shape)), s.eps, s.norm, ctx.bounds);
  });
  try {
    for (let step = 0; step < s.steps; step++) {
      const pass = ctx.gradient(xAdv, (z) => klToTarget(targetLogProbs, z));
      const next = tf.tidy(() =>
        project(
          x,
          tf.add(xAdv, tf.mul(normalizeGradient(pass.grad, s.norm), s.stepSize)),
          s.eps,
          s.norm,
          ctx.bounds,
        ),
      );
      tf.dispose([pass.logits, pass.loss, pass.grad, xAdv]);
      xAdv = next;
      await ctx.yieldStep(step + 1, s.steps);
    }
    return xAdv;
  } catch (err) {
    xAdv.dispose();
    throw err;
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
