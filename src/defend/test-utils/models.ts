import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../../models/model.js';

/** Base classifiers with known smoothed behaviour for the randomized-smoothing tests (tests only). */

/** A Model whose logits are `fn(x)`; `passes` records the rows of every forward pass. */
export interface FunctionModel extends Model {
  readonly passes: number[];
}

export function functionModel(
  inputShape: [number, number, number],
  numClasses: number,
  fn: (x: tf.Tensor4D) => tf.Tensor2D,
  onPass?: (rows: number) => void,
): FunctionModel {
  const passes: number[] = [];
  return {
    inputShape,
    bounds: [0, 1],
    classNames: Array.from({ length: numClasses }, (_, i) => `class${i}`),
    numClasses,
    passes,
    logits(x) {
      passes.push(x.shape[0]);
      onPass?.(x.shape[0]);
      return tf.tidy(() => fn(x));
    },
    predict(x) {
      return tf.tidy(() => tf.softmax(this.logits(x)));
    },
    dispose() {},
  };
}

/** Always class `c` of `numClasses`, whatever the input and the noise. */
export function constantModel(
  c: number,
  numClasses: number,
  inputShape: [number, number, number] = [2, 2, 1],
): FunctionModel {
  const row = Array.from({ length: numClasses }, (_, k) => (k === c ? 1 : 0));
  return functionModel(inputShape, numClasses, (x) =>
    tf.tile(tf.tensor2d(row, [1, numClasses]), [x.shape[0], 1]),
  );
}

/**
 * One pixel, two classes: class 0 when x > t, class 1 below. Under N(0, sigma^2) noise, class 0 has probability
 * Phi((x - t) / sigma), and the L2 distance to the other class is |x - t|, which is exactly the smoothed
 * classifier's radius (Cohen et al. 2019: the bound of Theorem 1 is tight for linear classifiers).
 */
export function thresholdModel(t = 0.5): FunctionModel {
  return functionModel([1, 1, 1], 2, (x) => {
    const v = tf.reshape<tf.Rank.R2>(x, [-1, 1]);
    return tf.concat([tf.sub<tf.Tensor2D>(v, t), tf.sub<tf.Tensor2D>(t, v)], 1);
  });
}
