import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../errors.js';

/**
 * Mean softmax cross-entropy computed from logits through a log-softmax (which subtracts the row maximum, so
 * large logits neither overflow nor underflow). With label smoothing eps the target is (1-eps)*onehot + eps/K
 * (Szegedy et al., "Rethinking the Inception Architecture", CVPR 2016).
 *
 * `weight` scales the mean (used by gradient accumulation to weigh micro-batches by their size).
 */
export function crossEntropyFromLogits(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  opts: { labelSmoothing?: number; weight?: number } = {},
): tf.Scalar {
  const smoothing = opts.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing < 1)) {
    throw invalidArgument(`labelSmoothing must be in [0, 1), got ${smoothing}.`);
  }
  if (logits.shape[0] !== labels.shape[0]) {
    throw invalidArgument(
      `crossEntropyFromLogits: ${logits.shape[0]} rows of logits but ${labels.shape[0]} labels.`,
    );
  }
  const numClasses = logits.shape[1];
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits);
    const onehot = tf.oneHot(
      tf.cast(labels, 'int32'),
      numClasses,
      1 - smoothing + smoothing / numClasses,
      smoothing / numClasses,
    );
    const perExample = tf.neg(tf.sum(tf.mul(onehot, logProbs), 1));
    return tf.mul(tf.mean(perExample), opts.weight ?? 1);
  });
}
