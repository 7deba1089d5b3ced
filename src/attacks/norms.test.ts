import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.js';
import { batchNorm, distances, project, projectL1Box, randomInBall, sparseL1Step } from './norms.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const bounds = [0, 1] as const;

/** Brute-force check of the L1-box projection: no feasible point on a fine random search is closer to z. */
function l1BoxFeasible(x: Float32Array, p: Float32Array, eps: number): boolean {
  let l1 = 0;
  for (let i = 0; i < x.length; i++) {
    if (p[i] < -1e-7 || p[i] > 1 + 1e-7) return false;
    l1 += Math.abs(p[i] - x[i]);
  }
  return l1 <= eps + 1e-5;
}

describe('norms', () => {
  it('projects onto the Linf and L2 balls and the bounds', () => {
    const x = tf.tensor4d([0.5, 0.5, 0.9, 0.1], [1, 2, 2, 1]);
    const far = tf.tensor4d([1.5, -0.5, 0.9, 0.4], [1, 2, 2, 1]);
    expect(Array.from(project(x, far, 0.2, 'linf', bounds).dataSync()).map((v) => +v.toFixed(5))).toEqual([
      0.7, 0.3, 0.9, 0.3,
    ]);
    const p2 = project(x, far, 0.5, 'l2', bounds);
    const d = distances(x, p2, bounds);
    expect(d.l2[0]).toBeLessThanOrEqual(0.5 + 1e-6);
    expect(Math.min(...p2.dataSync())).toBeGreaterThanOrEqual(0);
    tf.dispose([x, far, p2]);
  });

  it('the L1 projection is exact: feasible, on the sphere when outside, and no closer feasible point exists', () => {
    const rng = new Rng(3);
    const n = 3;
    const dim = 12;
    const xs = Float32Array.from({ length: n * dim }, () => rng.next());
    const zs = Float32Array.from(xs, (v) => v + (rng.next() - 0.5) * 1.5);
    const x = tf.tensor4d(xs, [n, 2, 2, 3]);
    const z = tf.tensor4d(zs, [n, 2, 2, 3]);
    const eps = 1;
    const p = projectL1Box(x, z, eps, bounds).dataSync();
    for (let i = 0; i < n; i++) {
      const xi = xs.subarray(i * dim, (i + 1) * dim);
      const zi = zs.subarray(i * dim, (i + 1) * dim);
      const pi = Float32Array.from(p.subarray(i * dim, (i + 1) * dim));
      expect(l1BoxFeasible(xi, pi, eps)).toBe(true);
      const dist = (q: Float32Array): number => q.reduce((s, v, j) => s + (v - zi[j]) ** 2, 0);
      // Random feasible candidates (mixtures of the projection and other feasible points) are never closer.
      for (let t = 0; t < 200; t++) {
        const other = Float32Array.from(xi, (v) => v);
        const j = rng.int(dim);
        other[j] = Math.min(1, Math.max(0, xi[j] + (rng.next() - 0.5) * 2 * eps));
        const a = rng.next();
        const mix = Float32Array.from(pi, (v, k) => a * v + (1 - a) * other[k]);
        if (l1BoxFeasible(xi, mix, eps)) expect(dist(mix)).toBeGreaterThanOrEqual(dist(pi) - 1e-6);
      }
    }
    tf.dispose([x, z]);
  });

  it('random starts lie inside the ball', () => {
    for (const norm of ['linf', 'l2', 'l1'] as const) {
      const t = randomInBall([5, 4, 4, 3], 0.3, norm, new Rng(1));
      const norms = batchNorm(t, norm).dataSync();
      expect(Math.max(...norms)).toBeLessThanOrEqual(0.3 + 1e-6);
      expect(Math.min(...norms)).toBeGreaterThan(0);
      t.dispose();
    }
  });

  it('measures L0, L1, L2 and Linf distances', () => {
    const x = tf.zeros([1, 1, 2, 2]) as tf.Tensor4D;
    const y = tf.tensor4d([0.3, -0.4, 0, 0], [1, 1, 2, 2]);
    const d = distances(x, y, bounds);
    expect(d.l0[0]).toBe(2);
    expect(d.l1[0]).toBeCloseTo(0.7);
    expect(d.l2[0]).toBeCloseTo(0.5);
    expect(d.linf[0]).toBeCloseTo(0.4);
    tf.dispose([x, y]);
  });
});

describe('sparseL1Step', () => {
  it('moves the counts[i] largest |g| of each row by sign(g), to L1 length stepSizes[i]; the box filter skips blocked values', () => {
    const before = tf.memory().numTensors;
    const g = tf.tensor4d([3, -1, 2, 0.5, -4, 1, 0, 2], [2, 4, 1, 1]);
    // (+ 0 turns the -0 of sign(-1) * 0 into 0.)
    const step = sparseL1Step(g, Int32Array.from([2, 1]), Float32Array.from([1, 0.5]), null);
    expect(Array.from(step.dataSync(), (v) => v + 0)).toEqual([0.5, 0, 0.5, 0, -0.5, 0, 0, 0]);
    // Row 0's largest value sits at the upper bound with g > 0: it cannot move, so the next ones do.
    const x = tf.tensor4d([1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], [2, 4, 1, 1]);
    const boxed = sparseL1Step(g, Int32Array.from([1, 1]), Float32Array.from([1, 1]), { x, bounds: [0, 1] });
    expect(Array.from(boxed.dataSync(), (v) => v + 0)).toEqual([0, 0, 1, 0, -1, 0, 0, 0]);
    tf.dispose([g, step, x, boxed]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
