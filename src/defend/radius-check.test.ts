import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { functionModel } from './test-utils/models.js';
import { attackWithinRadius, GaussianNoiseModel } from './radius-check.js';
import { ABSTAIN, certify } from './randomized-smoothing.js';

// A linear two-class model on 2x2 images: class 0 when the pixels sum above 2. Its smoothed classifier's
// decision boundary is the same hyperplane, at L2 distance (sum - 2) / 2 from x.
const linear = functionModel([2, 2, 1], 2, (x) => {
  const s = tf.sub(tf.sum(tf.reshape(x, [-1, 4]), 1, true), 2);
  return tf.concat([s, tf.neg(s)], 1) as tf.Tensor2D;
});
const sigma = 0.25;

beforeAll(async () => {
  await initNodeBackend();
});

describe('attackWithinRadius', () => {
  it('never changes the smoothed class inside a certificate, and does outside it (the attack is not vacuous)', async () => {
    const x = tf.tensor4d([0.7, 0.7, 0.7, 0.7, 0.8, 0.75, 0.7, 0.65], [2, 2, 2, 1]);
    const certs = await certify(linear, x, { sigma, n0: 100, n: 2000, alpha: 0.001, seed: 3 });
    expect(certs.map((c) => c.prediction)).toEqual([0, 0]);
    for (const c of certs) expect(c.radius).toBeGreaterThan(0.2);
    const before = tf.memory().numTensors;
    const inside = await attackWithinRadius(linear, x, certs, { sigma, steps: 20, eot: 8, seed: 1 });
    expect(inside).toHaveLength(2);
    for (const p of inside) {
      expect(p.changed).toBe(false);
      expect(p.distance).toBeLessThanOrEqual(p.radius * (1 + 1e-5));
      expect(p.distance).toBeGreaterThan(0.9 * p.radius);
    }
    // Twice the radius reaches past the boundary (distance 0.4 and 0.45): the same attack then flips the class.
    const inflated = certs.map((c) => ({ prediction: c.prediction, radius: 2 * c.radius }));
    const outside = await attackWithinRadius(linear, x, inflated, { sigma, steps: 20, eot: 8, seed: 1 });
    expect(outside.every((p) => p.changed)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  }, 60_000);

  it('skips abstentions and zero radii, and draws fresh seeded noise at every call', async () => {
    const x = tf.tensor4d([0.5, 0.5, 0.5, 0.5], [1, 2, 2, 1]);
    const skipped = await attackWithinRadius(linear, x, [{ prediction: ABSTAIN, radius: 0 }], { sigma });
    expect(skipped).toEqual([]);
    const a = new GaussianNoiseModel(linear, sigma, 5);
    const b = new GaussianNoiseModel(linear, sigma, 5);
    const draws = (m: GaussianNoiseModel) => [0, 1].map(() => Array.from(m.logits(x).dataSync()).join());
    const first = draws(a);
    expect(first).toEqual(draws(b));
    expect(first[0]).not.toEqual(first[1]);
    expect(() => new GaussianNoiseModel(linear, 0)).toThrow(/sigma must be a number > 0/);
    x.dispose();
  });
});
