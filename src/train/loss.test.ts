import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no gradient functions by itself; tfjs-layers' bundle does (the models always load it).
import '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { crossEntropyFromLogits } from './loss.js';

beforeAll(async () => {
  await initNodeBackend({ backend: 'cpu' });
});

/** Float64 reference: mean over rows of -sum(target * logSoftmax). */
function reference(logits: number[][], labels: number[], eps: number): number {
  let total = 0;
  logits.forEach((row, i) => {
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    row.forEach((v, k) => {
      const target = (k === labels[i] ? 1 - eps : 0) + eps / row.length;
      total -= target * (v - lse);
    });
  });
  return total / logits.length;
}

describe('crossEntropyFromLogits', () => {
  const logits = [
    [2, -1, 0.5],
    [0.1, 0.2, 3],
    [-2, 4, 1],
  ];
  const labels = [0, 1, 1];

  it('matches a float64 reference with and without label smoothing', () => {
    for (const eps of [0, 0.1, 0.3]) {
      const loss = tf.tidy(() =>
        crossEntropyFromLogits(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'), { labelSmoothing: eps }),
      );
      expect(loss.dataSync()[0]).toBeCloseTo(reference(logits, labels, eps), 5);
      loss.dispose();
    }
  });

  it('stays finite for huge logits (computed through log-softmax)', () => {
    const big = [
      [1000, -1000, 0],
      [-1000, 1000, 500],
    ];
    const loss = tf.tidy(() =>
      crossEntropyFromLogits(tf.tensor2d(big), tf.tensor1d([1, 1], 'int32'), { labelSmoothing: 0.1 }),
    );
    const value = loss.dataSync()[0];
    loss.dispose();
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBeCloseTo(reference(big, [1, 1], 0.1), 2);
  });

  it('has gradient (softmax - target) / n with respect to the logits, scaled by weight', () => {
    const eps = 0.2;
    const grad = tf.tidy(() => {
      const y = tf.tensor1d(labels, 'int32');
      return tf.grad((z: tf.Tensor) =>
        crossEntropyFromLogits(z as tf.Tensor2D, y, { labelSmoothing: eps, weight: 0.5 }),
      )(tf.tensor2d(logits));
    });
    const g = grad.arraySync() as number[][];
    grad.dispose();
    logits.forEach((row, i) => {
      const max = Math.max(...row);
      const z = row.reduce((s, v) => s + Math.exp(v - max), 0);
      row.forEach((v, k) => {
        const target = (k === labels[i] ? 1 - eps : 0) + eps / row.length;
        expect(g[i][k]).toBeCloseTo((0.5 * (Math.exp(v - max) / z - target)) / logits.length, 6);
      });
    });
  });

  it('rejects bad smoothing and mismatched shapes', () => {
    tf.tidy(() => {
      const z = tf.zeros([2, 3]) as tf.Tensor2D;
      expect(() => crossEntropyFromLogits(z, tf.tensor1d([0, 1], 'int32'), { labelSmoothing: 1 })).toThrow(
        /labelSmoothing/,
      );
      expect(() => crossEntropyFromLogits(z, tf.tensor1d([0], 'int32'))).toThrow(
        /2 rows of logits but 1 labels/,
      );
    });
  });
});
