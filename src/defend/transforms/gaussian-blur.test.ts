import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../backend/node-backend.js';
import { gaussianBlurTransform } from './gaussian-blur.js';
import { transformContract } from './test-utils/contract.js';

beforeAll(async () => {
  await initNodeBackend();
});

describe('gaussianBlurTransform', () => {
  transformContract(() => gaussianBlurTransform(1));

  it('keeps a constant image and the mean of a symmetric impulse, and spreads it as a Gaussian', () => {
    const c = tf.fill([1, 5, 6, 2], 0.3) as tf.Tensor4D;
    const blurredC = gaussianBlurTransform(2).apply(c, { bounds: [0, 1] });
    for (const v of blurredC.dataSync()) expect(v).toBeCloseTo(0.3, 6);
    const values = new Float32Array(81);
    values[4 * 9 + 4] = 1;
    const x = tf.tensor4d(values, [1, 9, 9, 1]);
    const blurred = gaussianBlurTransform(0.8).apply(x, { bounds: [0, 1] });
    const y = Array.from(blurred.dataSync());
    const g = (d: number): number => Math.exp(-(d * d) / (2 * 0.64));
    const norm = [-3, -2, -1, 0, 1, 2, 3].reduce((s, d) => s + g(d), 0);
    expect(y.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    expect(y[4 * 9 + 4]).toBeCloseTo((g(0) / norm) ** 2, 6);
    expect(y[3 * 9 + 5]).toBeCloseTo((g(1) / norm) ** 2, 6);
    tf.dispose([c, blurredC, x, blurred]);
  });

  it('is the identity at sigma 0 and rejects a negative sigma', () => {
    const x = tf.tensor4d([0.1, 0.9, 0.4, 0.6], [1, 2, 2, 1]);
    const y = gaussianBlurTransform(0).apply(x, { bounds: [0, 1] });
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    tf.dispose([x, y]);
    expect(() => gaussianBlurTransform(-1)).toThrow(/blur sigma .* must be a number from 0 to 8, got -1/);
  });

  it('reflects at borders of any size, even when the kernel is wider than the image', () => {
    const x = tf.tensor4d([0.2, 0.8, 0.2, 0.8], [1, 1, 4, 1]);
    const y = gaussianBlurTransform(3).apply(x, { bounds: [0, 1] });
    for (const v of y.dataSync()) expect(v).toBeGreaterThan(0.3);
    tf.dispose([x, y]);
  });
});
