import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '../backend/backend.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { attackLoss, attackObjective, maxOther } from './losses.js';

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

  it('the attack objective keeps a usable gradient on confident predictions, where cross-entropy underflows', () => {
    const logits = tf.tensor2d([[60, 10, 0]]);
    const labels = tf.tensor1d([0], 'int32');
    const ce = tf.grad((z: tf.Tensor) =>
      tf.sum(attackLoss('ce', z as tf.Tensor2D, labels, { targets: null })),
    )(logits);
    const obj = tf.grad((z: tf.Tensor) =>
      tf.sum(attackObjective('ce', z as tf.Tensor2D, labels, { targets: null })),
    )(logits);
    // d CE / dz is sigmoid(s) ~ e^-50 times the direction: below float32's resolution around 1.
    expect(Math.max(...Array.from(ce.dataSync()).map(Math.abs))).toBeLessThan(1e-20);
    // The log-odds' gradient: -1 on the true class, a softmax over the others (e^10 : 1) elsewhere.
    expect(values(obj)).toEqual([
      -1,
      +(Math.exp(10) / (Math.exp(10) + 1)).toFixed(5),
      +(1 / (Math.exp(10) + 1)).toFixed(5),
    ]);
    // Same ordering as cross-entropy: a strictly increasing transform of it.
    const two = tf.tensor2d([
      [3, 1, 0],
      [1, 3, 0],
    ]);
    const l2 = tf.tensor1d([0, 0], 'int32');
    const [a, b] = attackLoss('ce', two, l2, { targets: null }).dataSync();
    const [c, d] = attackObjective('ce', two, l2, { targets: null }).dataSync();
    expect(Math.sign(b - a)).toBe(Math.sign(d - c));
  });
});

describe('dlr gradient', () => {
  it('is differentiable, untargeted and targeted (a gradient attack can ascend it)', () => {
    const z = tf.tensor2d([
      [3, 1, 0.5, -1],
      [0, 2, 1, 4],
    ]);
    const labels = tf.tensor1d([0, 1], 'int32');
    const targets = tf.tensor1d([2, 3], 'int32');
    for (const t of [null, targets]) {
      const g = tf.grad((logits: tf.Tensor) =>
        tf.sum(attackLoss('dlr', logits as tf.Tensor2D, labels, { targets: t })),
      )(z);
      const values = Array.from(g.dataSync());
      expect(values.every(Number.isFinite)).toBe(true);
      expect(values.some((v) => v !== 0)).toBe(true);
      g.dispose();
    }
    tf.dispose([z, labels, targets]);
  });
});
