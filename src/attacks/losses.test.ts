import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { attackLoss, maxOther } from './losses.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const z = [
  [3, 1, 0, -1],
  [0, 2, 5, 1],
];
const values = (t: tf.Tensor): number[] => Array.from(t.dataSync()).map((v) => +v.toFixed(5));

describe('attack losses on logits', () => {
  it('cross-entropy: -log p_y untargeted, log p_t targeted', () => {
    const logits = tf.tensor2d(z);
    const labels = tf.tensor1d([0, 2], 'int32');
    const logp = tf.logSoftmax(logits).arraySync();
    expect(values(attackLoss('ce', logits, labels, { targets: null }))).toEqual(
      [-logp[0][0], -logp[1][2]].map((v) => +v.toFixed(5)),
    );
    const targets = tf.tensor1d([3, 0], 'int32');
    expect(values(attackLoss('ce', logits, labels, { targets }))).toEqual(
      [logp[0][3], logp[1][0]].map((v) => +v.toFixed(5)),
    );
  });

  it('C&W margin, with the confidence cap', () => {
    const logits = tf.tensor2d(z);
    const labels = tf.tensor1d([0, 1], 'int32');
    expect(values(maxOther(logits, labels))).toEqual([1, 5]);
    expect(values(attackLoss('cw', logits, labels, { targets: null }))).toEqual([-2, 3]);
    expect(values(attackLoss('cw', logits, labels, { targets: null, confidence: 1 }))).toEqual([-2, 1]);
    const targets = tf.tensor1d([1, 3], 'int32');
    expect(values(attackLoss('cw', logits, labels, { targets }))).toEqual([-2, -4]);
  });

  it('DLR is the paper formula and invariant to shifting and scaling the logits', () => {
    const logits = tf.tensor2d(z);
    const labels = tf.tensor1d([0, 2], 'int32');
    // Row 0: -(3 - 1) / (3 - 0); row 1 (y = top class): -(5 - 2) / (5 - 1).
    expect(values(attackLoss('dlr', logits, labels, { targets: null }))).toEqual([-0.66667, -0.75]);
    const scaled = tf.add(tf.mul(logits, 7), 3) as tf.Tensor2D;
    expect(values(attackLoss('dlr', scaled, labels, { targets: null }))).toEqual([-0.66667, -0.75]);
    const targets = tf.tensor1d([3, 0], 'int32');
    // Row 0: -(3 - (-1)) / (3 - (0 + -1) / 2).
    expect(values(attackLoss('dlr', logits, labels, { targets }))[0]).toBeCloseTo(-4 / 3.5, 4);
  });
});
