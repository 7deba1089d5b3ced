import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { Rng } from '../util/rng.js';
import { projectOntoHyperplaneBox } from './fab-projection.js';
import type { Norm } from './types.js';

const NORMS: readonly Norm[] = ['linf', 'l2', 'l1'];

/** The step for one row, as plain numbers. */
function step(
  t: number[],
  w: number[],
  b: number,
  norm: Norm,
  bounds: readonly [number, number] = [0, 1],
): number[] {
  const out = tf.tidy(() =>
    projectOntoHyperplaneBox(tf.tensor2d([t]), tf.tensor2d([w]), tf.tensor1d([b]), norm, bounds),
  );
  const values = Array.from(out.dataSync());
  out.dispose();
  return values;
}

function size(v: number[], norm: Norm): number {
  if (norm === 'linf') return Math.max(...v.map(Math.abs));
  if (norm === 'l2') return Math.hypot(...v);
  return v.reduce((s, x) => s + Math.abs(x), 0);
}

const dot = (a: number[], b: number[]): number => a.reduce((s, x, j) => s + x * b[j], 0);

/**
 * The smallest norm over points of the hyperplane w.z = b inside [lo, hi]^d (d = 2 or 3), by a grid over the
 * first d - 1 coordinates (the last one solves the equation); Infinity when no grid point is feasible.
 */
function bruteForce(t: number[], w: number[], b: number, norm: Norm, [lo, hi]: [number, number]): number {
  const d = t.length;
  const cells = d === 2 ? 20000 : 600;
  const grid = Float64Array.from({ length: cells + 1 }, (_, k) => lo + ((hi - lo) * k) / cells);
  const delta = [0, 0, 0];
  let best = Infinity;
  for (const z0 of grid) {
    for (const z1 of d === 2 ? [NaN] : grid) {
      const free = d === 2 ? w[0] * z0 : w[0] * z0 + w[1] * z1;
      const last = (b - free) / w[d - 1];
      if (last < lo || last > hi) continue;
      delta[0] = z0 - t[0];
      delta[1] = (d === 2 ? last : z1) - t[1];
      delta[2] = d === 2 ? 0 : last - t[2];
      const [a, c, e] = delta.map(Math.abs);
      const value = norm === 'linf' ? Math.max(a, c, e) : norm === 'l2' ? Math.hypot(a, c, e) : a + c + e;
      if (value < best) best = value;
    }
  }
  return best;
}

describe('projectOntoHyperplaneBox (FAB, Croce & Hein 2020)', () => {
  beforeAll(async () => {
    await initNodeBackend();
  });

  it('is the closed-form projection when the box does not bind', () => {
    const t = [0.5, 0.4, 0.6, 0.5];
    const w = [2, -1, 0.5, -4];
    // w.t - b = 0.2: the hyperplane lies 0.2 / ||w||_dual away.
    const b = dot(w, t) - 0.2;
    const w2 = dot(w, w);
    step(t, w, b, 'l2').forEach((v, j) => expect(v).toBeCloseTo((-0.2 * w[j]) / w2, 6));
    const l1w = w.reduce((s, v) => s + Math.abs(v), 0);
    step(t, w, b, 'linf').forEach((v, j) => expect(v).toBeCloseTo((-0.2 * Math.sign(w[j])) / l1w, 6));
    // L1 moves only the coordinate with the largest |w|.
    expect(step(t, w, b, 'l1')).toEqual([0, 0, 0, expect.closeTo(0.2 / 4, 6)]);
  });

  it('moves towards the hyperplane from either side', () => {
    const t = [0.5, 0.5, 0.5];
    const w = [1, -2, 3];
    const b = dot(w, t);
    for (const norm of NORMS) {
      const above = step(t, w, b + 0.3, norm);
      const below = step(t, w, b - 0.3, norm);
      expect(dot(w, above)).toBeCloseTo(0.3, 5);
      expect(dot(w, below)).toBeCloseTo(-0.3, 5);
      // Negating the hyperplane's equation changes nothing.
      step(
        t,
        w.map((v) => -v),
        -b - 0.3,
        norm,
      ).forEach((v, j) => expect(v).toBeCloseTo(above[j], 6));
    }
  });

  it('lands on the hyperplane inside the box, with the bounds binding', () => {
    const rng = new Rng(11);
    const bounds: [number, number] = [-0.5, 1.5];
    for (let trial = 0; trial < 30; trial++) {
      const d = 50;
      const t = Array.from({ length: d }, () => bounds[0] + 2 * rng.next());
      const w = Array.from({ length: d }, () => (rng.next() < 0.2 ? 0 : rng.normal()));
      // A target far enough that many coordinates hit the box, but reachable.
      const reach = w.reduce((s, v, j) => s + Math.abs(v) * (v > 0 ? t[j] - bounds[0] : bounds[1] - t[j]), 0);
      const b = dot(w, t) - (0.3 + 0.6 * rng.next()) * reach;
      for (const norm of NORMS) {
        const dz = step(t, w, b, norm, bounds);
        const z = t.map((v, j) => v + dz[j]);
        expect(dot(w, z) - b).toBeCloseTo(0, 3);
        z.forEach((v) => {
          expect(v).toBeGreaterThanOrEqual(bounds[0] - 1e-6);
          expect(v).toBeLessThanOrEqual(bounds[1] + 1e-6);
        });
        w.forEach((v, j) => {
          if (v === 0) expect(dz[j]).toBe(0);
        });
      }
    }
  });

  it('goes to the closest corner when the box keeps the hyperplane out of reach', () => {
    const t = [0.2, 0.7, 0.5];
    const w = [1, -1, 0];
    for (const norm of NORMS) {
      // min over the box of w.z is -1 (z = [0, 1, *]); the hyperplane w.z = -3 is out of reach.
      const dz = step(t, w, -3, norm);
      expect(dz.map((v, j) => v + t[j])).toEqual([
        expect.closeTo(0, 6),
        expect.closeTo(1, 6),
        expect.closeTo(0.5, 6),
      ]);
    }
  });

  it('matches a brute-force search over the hyperplane in 2 and 3 dimensions', () => {
    const rng = new Rng(5);
    const bounds: [number, number] = [0, 1];
    for (let trial = 0; trial < 12; trial++) {
      const d = trial < 6 ? 2 : 3;
      const t = Array.from({ length: d }, () => rng.next());
      const w = Array.from({ length: d }, () => (rng.next() < 0.5 ? -1 : 1) * (0.3 + rng.next()));
      // A point of the box's opposite region, so the hyperplane crosses the box.
      const far = Array.from({ length: d }, () => rng.next());
      const b = dot(w, far);
      for (const norm of NORMS) {
        const found = size(step(t, w, b, norm, bounds), norm);
        const brute = bruteForce(t, w, b, norm, bounds);
        // The grid's resolution is 1/600 in 3 dimensions: the exact answer is never worse than the grid's.
        expect(found).toBeLessThanOrEqual(brute + 1e-5);
        expect(found).toBeGreaterThanOrEqual(brute - (d === 2 ? 1e-3 : 1e-2));
      }
    }
  });

  it('projects rows independently and frees its tensors', () => {
    const points = tf.tensor2d([
      [0.5, 0.5],
      [0.1, 0.9],
    ]);
    const w = tf.tensor2d([
      [1, 0],
      [0, 2],
    ]);
    const b = tf.tensor1d([0.7, 1]);
    const before = tf.memory().numTensors;
    const out = projectOntoHyperplaneBox(points, w, b, 'l2', [0, 1]);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(Array.from(out.dataSync())).toEqual([expect.closeTo(0.2, 6), 0, 0, expect.closeTo(-0.4, 6)]);
    tf.dispose([points, w, b, out]);
  });
});
