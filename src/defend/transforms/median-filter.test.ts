import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../backend/node-backend.js';
import { medianFilter } from './median-filter.js';
import { transformContract } from './test-utils/contract.js';

beforeAll(async () => {
  await initNodeBackend();
});

describe('medianFilter', () => {
  transformContract(() => medianFilter(3));

  it('leaves a constant image as it is', () => {
    const x = tf.fill([1, 6, 7, 3], 0.25) as tf.Tensor4D;
    const y = medianFilter(5).apply(x, { bounds: [0, 1] });
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    tf.dispose([x, y]);
  });

  it('removes a salt pixel, in the middle and at a corner', () => {
    const values = new Float32Array(36).fill(0.5);
    values[2 * 6 + 3] = 1;
    values[0] = 0;
    const x = tf.tensor4d(values, [1, 6, 6, 1]);
    const y = medianFilter(3).apply(x, { bounds: [0, 1] });
    expect(Array.from(y.dataSync())).toEqual(new Array<number>(36).fill(0.5));
    tf.dispose([x, y]);
  });

  it('takes the median of each window in each channel (reflect padding)', () => {
    // One row 1 2 9 4 5: windows (reflected) [2 1 2] [1 2 9] [2 9 4] [9 4 5] [4 5 4] over three equal rows.
    const row = [1, 2, 9, 4, 5];
    const x = tf.tensor4d([...row, ...row, ...row], [1, 3, 5, 1]);
    const y = medianFilter(3).apply(x, { bounds: [0, 10] });
    expect(Array.from(y.dataSync()).slice(5, 10)).toEqual([2, 2, 4, 5, 4]);
    tf.dispose([x, y]);
  });

  it('rejects an even or too large window, and an image too small for it', () => {
    expect(() => medianFilter(4)).toThrow(/median size \(window side\) must be odd .* got 4/);
    expect(() => medianFilter(11)).toThrow(/must be an integer from 1 to 9, got 11/);
    const x = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
    expect(() => medianFilter(5).apply(x, { bounds: [0, 1] })).toThrow(/at least 3x3 .* got 2x2/);
    x.dispose();
  });
});
