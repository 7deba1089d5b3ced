import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError } from '../../errors.js';

/**
 * Losses whose gradient with respect to the logits, softmax(z) - t, is computed without rounding away the
 * top class. Through a log-softmax, the top entry p_c - t_c of a confident row is (1 - 1e-9) - 1 in float32,
 * i.e. 0 or a multiple of 6e-8: the gradient that an inner maximisation follows is then rounding noise (the
 * reason the attacks ascend the log-odds, see attackObjective in src/attacks/losses.ts). Here the top entry is
 * taken as minus the sum of the other entries (both rows sum to 1), which are accurate small numbers; the
 * direction is then exact, and its sign per coordinate is the log-odds' direction for cross-entropy.
 */
export function softmaxMinusTarget(logits: tf.Tensor2D, target: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const p = tf.softmax(logits);
    const top = tf.oneHot(tf.argMax(p, 1), logits.shape[1]);
    const rest = tf.mul(tf.sub(p, target), tf.sub(1, top));
    return tf.sub(rest, tf.mul(top, tf.sum(rest, 1, true)));
  });
}

/**
 * Per-example softmax cross-entropy with label smoothing eps (target (1-eps)*onehot + eps/K), value through a
 * log-softmax, gradient from softmaxMinusTarget.
 */
export function accurateCrossEntropy(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  labelSmoothing = 0,
): tf.Tensor1D {
  const k = logits.shape[1];
  return tf.tidy(() => {
    const on = 1 - labelSmoothing + labelSmoothing / k;
    const target = tf.oneHot(tf.cast(labels, 'int32'), k, on, labelSmoothing / k) as tf.Tensor2D;
    return crossEntropyToTarget(logits, target);
  });
}

/**
 * Per-example KL(p || softmax(logits)) for a fixed target distribution given by its log-probabilities (from a
 * log-softmax; never a softmax then a log), with the gradient with respect to the logits from
 * softmaxMinusTarget. The target gets no gradient: use it where p is a constant (TRADES' inner maximisation).
 */
export function klToTarget(targetLogProbs: tf.Tensor2D, logits: tf.Tensor2D): tf.Tensor1D {
  return klOp(logits, targetLogProbs);
}

/**
 * A two-input custom op whose second input (the target) gets a zero gradient. The target is an input, not a
 * captured tensor, so that it lives until the backward pass.
 */
function targetOp(
  value: (z: tf.Tensor2D, target: tf.Tensor2D) => tf.Tensor1D,
  targetProbs: (target: tf.Tensor2D) => tf.Tensor2D,
): (z: tf.Tensor2D, target: tf.Tensor2D) => tf.Tensor1D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [z, target, save] = args;
    if (!(z instanceof tf.Tensor && target instanceof tf.Tensor && typeof save === 'function')) {
      throw new AdvkitError('INTERNAL', 'A custom-gradient loss got unexpected arguments.');
    }
    const z2 = z as tf.Tensor2D;
    const t2 = target as tf.Tensor2D;
    save([z2, t2]);
    return {
      value: value(z2, t2),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [zs, ts] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [tf.mul(tf.expandDims(dy, 1), softmaxMinusTarget(zs, targetProbs(ts))), tf.zerosLike(ts)];
      },
    };
  });
  return (z, target) => op(z, target) as tf.Tensor1D;
}

const crossEntropyToTarget = targetOp(
  (z, t) => tf.neg(tf.sum<tf.Tensor1D>(tf.mul(t, tf.logSoftmax(z)), 1)),
  (t) => t,
);

const klOp = targetOp(
  (z, logP) => tf.sum<tf.Tensor1D>(tf.mul(tf.exp(logP), tf.sub(logP, tf.logSoftmax(z))), 1),
  (logP) => tf.exp(logP),
);
