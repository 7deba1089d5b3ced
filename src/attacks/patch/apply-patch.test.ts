import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../backend/node-backend.js';
import { AdvkitError } from '../../errors.js';
import { applyPatch } from './apply-patch.js';

beforeAll(async () => {
  await initNodeBackend();
});

function uniform(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, 0, 1, 'float32', seed);
}

describe('applyPatch', () => {
  it('keeps shapes and bounds, is reproducible from the seed and leaks nothing', () => {
    const images = uniform([5, 16, 12, 3], 1) as tf.Tensor4D;
    const patch = uniform([6, 6, 3], 2) as tf.Tensor3D;
    const before = tf.memory().numTensors;
    const options = { scale: [0.7, 1.6], rotation: [-30, 30], seed: 9 } as const;
    const a = applyPatch(images, patch, options);
    const b = applyPatch(images, patch, options);
    const c = applyPatch(images, patch, { ...options, seed: 10 });
    expect(a.shape).toEqual(images.shape);
    const values = a.dataSync();
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
    expect(Array.from(b.dataSync())).toEqual(Array.from(values));
    expect(Array.from(c.dataSync())).not.toEqual(Array.from(values));
    // Every image changes somewhere, and only partly.
    const changed = tf.tidy(() => tf.sum(tf.cast(tf.notEqual(a, images), 'float32'), [1, 2, 3]).dataSync());
    for (const count of changed) {
      expect(count).toBeGreaterThan(0);
      expect(count).toBeLessThan(16 * 12 * 3);
    }
    tf.dispose([a, b, c]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([images, patch]);
  });

  it('pastes an exact copy at a fixed position, scale 1, no rotation, and leaves the rest alone', () => {
    const images = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
    const patch = tf.tensor3d([1, 2, 3, 4], [2, 2, 1]);
    const out = applyPatch(images, patch, { position: { x: 5, y: 1 }, shape: 'square' });
    const v = Array.from(out.dataSync());
    const at = (y: number, x: number): number => v[y * 8 + x];
    expect([at(1, 5), at(1, 6), at(2, 5), at(2, 6)]).toEqual([1, 2, 3, 4]);
    expect(v.reduce((s, x) => s + x, 0)).toBeCloseTo(10, 5);
    tf.dispose([images, patch, out]);
  });

  it('lets gradients flow to the patch, matching finite differences (wasm)', () => {
    const images = uniform([2, 7, 9, 2], 3) as tf.Tensor4D;
    const patch = uniform([3, 3, 2], 4) as tf.Tensor3D;
    const weights = tf.randomNormal([2, 7, 9, 2], 0, 1, 'float32', 5);
    const options = { scale: 1.3, rotation: 17, seed: 4, shape: 'square' } as const;
    const f = (p: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(applyPatch(images, p as tf.Tensor3D, options), weights));
    const before = tf.memory().numTensors;
    const grad = tf.grad(f)(patch);
    const g = grad.dataSync();
    grad.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const base = patch.dataSync();
    const h = 1e-2;
    let nonZero = 0;
    for (let i = 0; i < base.length; i++) {
      const shifted = (d: number): number => {
        const values = Float32Array.from(base);
        values[i] += d;
        return tf.tidy(() => f(tf.tensor3d(values, [3, 3, 2])).dataSync()[0]);
      };
      const numeric = (shifted(h) - shifted(-h)) / (2 * h);
      expect(g[i]).toBeCloseTo(numeric, 2);
      if (Math.abs(g[i]) > 1e-3) nonZero++;
    }
    expect(nonZero).toBeGreaterThan(base.length / 2);
    tf.dispose([images, patch, weights]);
  });

  it('rejects a non-square patch, mismatched channels and bad options with INVALID_ARGUMENT', () => {
    const images = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
    const square = tf.zeros([2, 2, 3]) as tf.Tensor3D;
    const cases: [tf.Tensor3D, Parameters<typeof applyPatch>[2]][] = [
      [tf.zeros([2, 3, 3]) as tf.Tensor3D, {}],
      [tf.zeros([2, 2, 1]) as tf.Tensor3D, {}],
      [square, { scale: -1 }],
      [square, { seed: 0.5 }],
      [square, { shape: JSON.parse('"triangle"') }],
    ];
    for (const [patch, options] of cases) {
      let error: unknown;
      try {
        applyPatch(images, patch, options).dispose();
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(AdvkitError);
      expect((error as AdvkitError).code).toBe('INVALID_ARGUMENT');
    }
    tf.dispose([images, ...cases.map(([p]) => p)]);
  });
});
