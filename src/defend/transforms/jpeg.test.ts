import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../backend/node-backend.js';
import { jpeg, scaledTable } from './jpeg.js';
import { images, transformContract } from './test-utils/contract.js';

beforeAll(async () => {
  await initNodeBackend();
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  const x = Array.from(a.dataSync());
  const y = b.dataSync();
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
}

describe('jpeg', () => {
  transformContract(() => jpeg(75));

  it('is close to the identity at quality 100 (within 3/255 on random images, 1/255 on a ramp)', () => {
    const noisy = images([2, 16, 13, 3], [0, 1]);
    const ramp = tf.tidy(() =>
      tf.tile(tf.reshape(tf.linspace(0, 1, 16), [1, 16, 1, 1]), [1, 1, 16, 3]),
    ) as tf.Tensor4D;
    // Measured: 2.42/255 on uniform noise (coefficients rounded to integers, then bytes),
    // 4e-6/255 on the ramp (its values k/15 are bytes, 17k).
    for (const [x, limit] of [
      [noisy, 3 / 255],
      [ramp, 1 / 255],
    ] as const) {
      const y = jpeg(100).apply(x, { bounds: [0, 1] });
      expect(maxAbsDiff(x, y)).toBeLessThanOrEqual(limit);
      y.dispose();
    }
    tf.dispose([noisy, ramp]);
  });

  it('loses more at lower quality, and returns byte values', () => {
    const x = images([1, 16, 16, 3], [0, 255]);
    const errors = [95, 75, 30, 5].map((q) => {
      const y = jpeg(q).apply(x, { bounds: [0, 255] });
      expect(Array.from(y.dataSync()).every(Number.isInteger)).toBe(true);
      const e = maxAbsDiff(x, y);
      y.dispose();
      return e;
    });
    for (let i = 1; i < errors.length; i++) expect(errors[i]).toBeGreaterThan(errors[i - 1]);
    x.dispose();
  });

  it('keeps flat blocks whose DC coefficient is a multiple of its quantizer exactly, at any quality', () => {
    // Quality 10 scales the luminance DC quantizer 16 to 80; a flat block of 128 + 10 has DC coefficient 8 * 10.
    const x = tf.fill([1, 8, 16, 1], 138) as tf.Tensor4D;
    const y = jpeg(10).apply(x, { bounds: [0, 255] });
    expect(maxAbsDiff(x, y)).toBe(0);
    tf.dispose([x, y]);
  });

  it('scales the standard tables as libjpeg does: 50 is the table, 100 is all ones, 1 is capped at 255', () => {
    expect(scaledTable([16, 11, 99], 50)).toEqual([16, 11, 99]);
    expect(scaledTable([16, 11, 99], 100)).toEqual([1, 1, 1]);
    expect(scaledTable([16, 11, 99], 75)).toEqual([8, 6, 50]);
    expect(scaledTable([16, 11, 99], 1)).toEqual([255, 255, 255]);
  });

  it('rejects a quality outside 1 to 100', () => {
    expect(() => jpeg(0)).toThrow(/jpeg quality must be an integer from 1 to 100, got 0/);
    expect(() => jpeg(101)).toThrow(/got 101/);
  });
});
