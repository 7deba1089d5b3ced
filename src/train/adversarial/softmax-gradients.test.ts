import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../backend/node-backend.js';
import { crossEntropyFromLogits } from '../loss.js';
import { accurateCrossEntropy, klToTarget, softmaxMinusTarget } from './softmax-gradients.js';

beforeAll(async () => {
  await initNodeBackend({ backend: 'cpu' });
});

/** softmax(z) - t in float64 (the top entry from the others, since 1 - 1e-17 rounds even in float64). */
function reference(z: number[], t: number[]): number[] {
  const m = Math.max(...z);
  const top = z.indexOf(m);
  const e = z.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  const d = e.map((v, j) => v / sum - t[j]);
  d[top] = -d.reduce((s, v, j) => (j === top ? s : s + v), 0);
  return d;
}

function softmax64(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

function closeRelative(actual: ArrayLike<number>, expected: number[], rel: number): void {
  expected.forEach((v, j) => expect(Math.abs(actual[j] - v)).toBeLessThanOrEqual(rel * Math.abs(v) + 1e-30));
}

describe('accurate softmax gradients', () => {
  it('cross-entropy: same value and gradient as the log-softmax form on ordinary logits, label smoothing too', () => {
    const z = tf.tensor2d([
      [1.5, -0.5, 0.25],
      [0.1, 0.2, 2],
    ]);
    const y = tf.tensor1d([0, 1], 'int32');
    for (const ls of [0, 0.1]) {
      const ours = tf.valueAndGrad((logits: tf.Tensor) =>
        tf.mean(accurateCrossEntropy(logits as tf.Tensor2D, y, ls)),
      )(z);
      const plain = tf.valueAndGrad((logits: tf.Tensor) =>
        crossEntropyFromLogits(logits as tf.Tensor2D, y, { labelSmoothing: ls }),
      )(z);
      expect(ours.value.dataSync()[0]).toBeCloseTo(plain.value.dataSync()[0], 6);
      Array.from(ours.grad.dataSync()).forEach((g, i) => expect(g).toBeCloseTo(plain.grad.dataSync()[i], 7));
      tf.dispose([ours.value, ours.grad, plain.value, plain.grad]);
    }
    tf.dispose([z, y]);
  });

  it('keeps the true class gradient on a confident row, where the log-softmax form rounds it to 0', () => {
    const row = [30, 0, -5];
    const z = tf.tensor2d([row]);
    const y = tf.tensor1d([0], 'int32');
    const ours = tf.grad((logits: tf.Tensor) => tf.sum(accurateCrossEntropy(logits as tf.Tensor2D, y)))(z);
    const plain = tf.grad((logits: tf.Tensor) => crossEntropyFromLogits(logits as tf.Tensor2D, y))(z);
    const expected = reference(row, [1, 0, 0]); // [-9.4e-14, 9.4e-14, 6.3e-16]
    expect(plain.dataSync()[0]).toBe(0);
    closeRelative(ours.dataSync(), expected, 1e-5);
    tf.dispose([z, y, ours, plain]);
  });

  it('KL to a fixed target: value, accurate gradient, no gradient for the target', () => {
    const clean = [12, 1, -3];
    const adv = [9, 3, -2];
    const logP = tf.logSoftmax(tf.tensor2d([clean]));
    const p = Array.from(tf.exp(logP).dataSync());
    const z = tf.tensor2d([adv]);
    const q = softmax64(adv);
    const kl = p.reduce((s, pj, j) => s + pj * (Math.log(pj) - Math.log(q[j])), 0);
    const value = klToTarget(logP as tf.Tensor2D, z);
    expect(value.dataSync()[0]).toBeCloseTo(kl, 5);
    expect(kl).toBeGreaterThan(1e-3);
    const [gz, gp] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(klToTarget(b as tf.Tensor2D, a as tf.Tensor2D)),
    )([z, logP]);
    closeRelative(gz.dataSync(), reference(adv, p), 1e-4);
    expect(Array.from(gp.dataSync())).toEqual([0, 0, 0]);
    tf.dispose([logP, z, value, gz, gp]);
  });

  it('softmaxMinusTarget rows sum to zero and leak no tensor', () => {
    const before = tf.memory().numTensors;
    const z = tf.tensor2d([
      [40, 0, 1],
      [0, 0, 0],
    ]);
    const t = tf.tensor2d([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    const d = softmaxMinusTarget(z, t);
    const rows = tf.sum(d, 1);
    Array.from(rows.dataSync()).forEach((s) => expect(Math.abs(s)).toBeLessThan(1e-7));
    closeRelative(d.dataSync().subarray(0, 3), reference([40, 0, 1], [1, 0, 0]), 1e-5);
    tf.dispose([z, t, d, rows]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
