import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { Rng } from '../../../util/rng.js';
import type { Transform } from '../transform.js';

/** n seeded images uniform in the bounds. */
export function images(
  shape: readonly [number, number, number, number],
  bounds: readonly [number, number] = [0, 1],
  seed = 5,
): tf.Tensor4D {
  return tf.randomUniform([...shape], bounds[0], bounds[1], 'float32', seed) as tf.Tensor4D;
}

/** How a transform's BPDA backward pass is checked by the contract. */
export interface ContractOptions {
  /**
   * For a transform that is not differentiable, the gradient of sum(g(x) * w) with respect to x for its BPDA
   * approximation g, computed independently by the test; default: w itself (BPDA's identity).
   */
  bpdaGradient?: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;
}

/**
 * The contract every input transform keeps (tests only): same shape, inside the bounds, a gradient of the input's
 * shape that flows (the identity for BPDA transforms unless `options.bpdaGradient` gives g's), determinism or
 * seeded randomness as declared, no leaks.
 */
export function transformContract(make: () => Transform, options: ContractOptions = {}): void {
  const shapes: [number, number, number, number][] = [
    [2, 9, 10, 3],
    [1, 8, 8, 1],
  ];
  const boundsList: [number, number][] = [
    [0, 1],
    [0, 255],
    [-1, 1],
  ];

  it('keeps the shape and stays inside the bounds', () => {
    const t = make();
    for (const shape of shapes) {
      for (const bounds of boundsList) {
        const x = images(shape, bounds);
        const y = t.apply(x, { bounds, rng: new Rng(1) });
        expect(y.shape).toEqual(x.shape);
        const values = Array.from(y.dataSync());
        expect(Math.min(...values)).toBeGreaterThanOrEqual(bounds[0]);
        expect(Math.max(...values)).toBeLessThanOrEqual(bounds[1]);
        tf.dispose([x, y]);
      }
    }
  });

  it('is deterministic, or seeded when random, as declared', () => {
    const t = make();
    const x = images([2, 9, 10, 3], [0, 1]);
    const a = t.apply(x, { bounds: [0, 1], rng: new Rng(7) });
    const b = t.apply(x, { bounds: [0, 1], rng: new Rng(7) });
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    if (!t.random) {
      const c = t.apply(x, { bounds: [0, 1], rng: new Rng(8) });
      expect(Array.from(c.dataSync())).toEqual(Array.from(a.dataSync()));
      c.dispose();
    }
    tf.dispose([x, a, b]);
  });

  it("has a gradient of the input shape that flows (BPDA g's, the identity by default, when not differentiable)", () => {
    const t = make();
    const x = images([2, 9, 10, 3], [0, 1]);
    const w = images([2, 9, 10, 3], [-1, 1], 11);
    const g = tf.grad((input: tf.Tensor) =>
      tf.sum(tf.mul(t.apply(input as tf.Tensor4D, { bounds: [0, 1], rng: new Rng(3) }), w)),
    )(x);
    expect(g.shape).toEqual(x.shape);
    const values = Array.from(g.dataSync());
    expect(values.some((v) => v !== 0)).toBe(true);
    expect(values.every(Number.isFinite)).toBe(true);
    if (!t.differentiable && options.bpdaGradient === undefined) {
      // BPDA's identity: d sum(f(x) * w) / dx = w.
      expect(Array.from(g.dataSync())).toEqual(Array.from(w.dataSync()));
    } else if (!t.differentiable && options.bpdaGradient !== undefined) {
      // BPDA with g: d sum(f(x) * w) / dx = d sum(g(x) * w) / dx.
      const expected = options.bpdaGradient(x, w);
      expect(expected.shape).toEqual(x.shape);
      const e = expected.dataSync();
      const maxDiff = Math.max(...Array.from(g.dataSync(), (v, i) => Math.abs(v - e[i])));
      expect(maxDiff).toBeLessThan(1e-6);
      expected.dispose();
    }
    tf.dispose([x, w, g]);
  });

  it('has the gradient of its forward pass when differentiable (central finite differences)', () => {
    const t = make();
    if (!t.differentiable) return;
    const x = images([1, 9, 10, 3], [0.2, 0.8]);
    const w = images([1, 9, 10, 3], [-1, 1], 11);
    const d = images([1, 9, 10, 3], [-1, 1], 12);
    // The same draw in every pass, so that a random transform is a fixed function here.
    const f = (input: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(t.apply(input as tf.Tensor4D, { bounds: [0, 1], rng: new Rng(3) }), w));
    const g = tf.grad(f)(x);
    const step = 1e-2;
    const [plus, minus, analytic] = tf.tidy(() => [
      f(tf.add(x, tf.mul(d, step))).dataSync()[0],
      f(tf.sub(x, tf.mul(d, step))).dataSync()[0],
      tf.sum(tf.mul(g, d)).dataSync()[0],
    ]);
    expect(analytic).toBeCloseTo((plus - minus) / (2 * step), 2);
    tf.dispose([x, w, d, g]);
  });

  it('leaks no tensors, forward or backward', () => {
    const t = make();
    const x = images([1, 9, 10, 3], [0, 1]);
    const before = tf.memory().numTensors;
    const y = t.apply(x, { bounds: [0, 1], rng: new Rng(2) });
    y.dispose();
    const g = tf.grad((input: tf.Tensor) =>
      tf.sum(t.apply(input as tf.Tensor4D, { bounds: [0, 1], rng: new Rng(2) })),
    )(x);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('names itself with a spec', () => {
    const t = make();
    expect(t.spec).toBe(`${t.name}:${Object.values(t.params).join(':')}`);
  });
}
