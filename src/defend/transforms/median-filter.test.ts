import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../backend/node-backend.js';
import { medianFilter } from './median-filter.js';
import { transformContract } from './test-utils/contract.js';

/** d sum(mean of each 3x3 window (reflect padding) * w) / dx, by slices: the median's BPDA backward. */
function boxGradient(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(
    () =>
      tf.grad((input: tf.Tensor) => {
        const p = tf.mirrorPad(
          input as tf.Tensor4D,
          [
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0],
          ],
          'reflect',
        );
        const [n, h, wd, c] = x.shape;
        let sum: tf.Tensor = tf.zeros(x.shape);
        for (let dy = 0; dy < 3; dy++) {
          for (let dx = 0; dx < 3; dx++) sum = tf.add(sum, tf.slice(p, [0, dy, dx, 0], [n, h, wd, c]));
        }
        return tf.sum(tf.mul(tf.div(sum, 9), w));
      })(x) as tf.Tensor4D,
  );
}

beforeAll(async () => {
  await initNodeBackend();
});

describe('medianFilter', () => {
  transformContract(() => medianFilter(3), { bpdaGradient: boxGradient });

  it('backpropagates through the mean of the window (BPDA), not the identity: an impulse spreads over 3x3', () => {
    const x = tf.randomUniform([1, 5, 5, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const dy = tf.buffer([1, 5, 5, 1]);
    dy.set(1, 0, 2, 2, 0);
    const weights = dy.toTensor() as tf.Tensor4D;
    const g = tf.grad((input: tf.Tensor) =>
      tf.sum(tf.mul(medianFilter(3).apply(input as tf.Tensor4D, { bounds: [0, 1] }), weights)),
    )(x);
    const expected = new Array<number>(25).fill(0);
    for (const r of [1, 2, 3]) for (const c of [1, 2, 3]) expected[r * 5 + c] = 1 / 9;
    Array.from(g.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    tf.dispose([x, weights, g]);
  });

  it('keeps its forward value exact under the BPDA wrapper (the median, not the mean)', () => {
    const row = [1, 2, 9, 4, 5];
    const x = tf.tensor4d([...row, ...row, ...row], [1, 3, 5, 1]);
    let y: tf.Tensor | undefined;
    const g = tf.grad((input: tf.Tensor) => {
      const out = medianFilter(3).apply(input as tf.Tensor4D, { bounds: [0, 10] });
      y = tf.keep(out);
      return tf.sum(out);
    })(x);
    expect(Array.from(y!.dataSync()).slice(5, 10)).toEqual([2, 2, 4, 5, 4]);
    tf.dispose([x, y!, g]);
  });

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

  it('gives the 3x3 median of its elementwise path exactly as the general topk path would', () => {
    // median:3 takes the elementwise path; a 3x3 median is also the 5th largest of the window, computed here.
    const x = tf.randomUniform([2, 7, 6, 2], 0, 1, 'float32', 8) as tf.Tensor4D;
    const y = medianFilter(3).apply(x, { bounds: [0, 1] });
    const reference = tf.tidy(() => {
      const p = tf.mirrorPad(
        x,
        [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ],
        'reflect',
      );
      const window: tf.Tensor4D[] = [];
      for (let dy = 0; dy < 3; dy++) {
        for (let dx = 0; dx < 3; dx++) window.push(tf.slice(p, [0, dy, dx, 0], [2, 7, 6, 2]));
      }
      return tf.slice(tf.topk(tf.stack(window, 4), 5).values, [0, 0, 0, 0, 4], [2, 7, 6, 2, 1]);
    });
    expect(Array.from(y.dataSync())).toEqual(Array.from(reference.dataSync()));
    const flat = tf.fill([1, 5, 5, 1], 0.5) as tf.Tensor4D;
    const five = medianFilter(5).apply(flat, { bounds: [0, 1] });
    expect(Array.from(five.dataSync())).toEqual(new Array<number>(25).fill(0.5));
    tf.dispose([x, y, reference, flat, five]);
  });

  it('rejects an even or too large window, and an image too small for it', () => {
    expect(() => medianFilter(4)).toThrow(/median size \(window side\) must be odd .* got 4/);
    expect(() => medianFilter(11)).toThrow(/must be an integer from 1 to 9, got 11/);
    const x = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
    expect(() => medianFilter(5).apply(x, { bounds: [0, 1] })).toThrow(/at least 3x3 .* got 2x2/);
    x.dispose();
  });
});
