import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../backend/node-backend.js';
import { bpdaApproximation, bpdaIdentity, zeroGradient } from './transform.js';

beforeAll(async () => {
  await initNodeBackend();
});

/** A non-differentiable f (rounding to quarters) and a differentiable g (x^2), far apart on purpose. */
const round4 = (x: tf.Tensor4D): tf.Tensor4D => tf.div(tf.round(tf.mul(x, 4)), 4);
const square = (x: tf.Tensor4D): tf.Tensor4D => tf.square(x);

describe('bpdaApproximation', () => {
  it("gives f's value forward and g's gradient backward, of the input's shape", () => {
    const x = tf.randomUniform([2, 3, 4, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomUniform([2, 3, 4, 2], -1, 1, 'float32', 2) as tf.Tensor4D;
    const op = bpdaApproximation(round4, square);
    const y = op(x);
    const f = round4(x);
    expect(Array.from(y.dataSync())).toEqual(Array.from(f.dataSync()));
    const g = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(op(input as tf.Tensor4D), w)))(x);
    expect(g.shape).toEqual(x.shape);
    // d sum(x^2 * w) / dx = 2 x w.
    const expected = tf.mul(tf.mul(x, w), 2);
    const e = expected.dataSync();
    Array.from(g.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(e[i], 6));
    tf.dispose([x, w, y, f, g, expected]);
  });

  it('chains with the other BPDA wrappers and the model after it', () => {
    const x = tf.randomUniform([1, 2, 2, 1], 0.1, 1, 'float32', 3) as tf.Tensor4D;
    const g = tf.grad((input: tf.Tensor) =>
      tf.sum(tf.mul(bpdaIdentity(round4)(bpdaApproximation(round4, square)(input as tf.Tensor4D)), 3)),
    )(x);
    const e = tf.mul(x, 6);
    const expected = e.dataSync();
    Array.from(g.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    const zero = tf.grad((input: tf.Tensor) =>
      tf.sum(zeroGradient((v) => bpdaApproximation(round4, square)(v))(input as tf.Tensor4D)),
    )(x);
    expect(Array.from(zero.dataSync())).toEqual([0, 0, 0, 0]);
    tf.dispose([x, g, e, zero]);
  });

  it('refuses an approximation that changes the shape', () => {
    const x = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    const op = bpdaApproximation(round4, (v) => tf.slice(v, [0, 0, 0, 0], [1, 2, 2, 1]));
    expect(() => op(x)).toThrow(/must keep the input's shape \[1, 4, 4, 1\], got \[1, 2, 2, 1\]/);
    x.dispose();
  });

  it('leaks no tensors, forward or backward', () => {
    const x = tf.randomUniform([1, 3, 3, 2], 0, 1, 'float32', 4) as tf.Tensor4D;
    const op = bpdaApproximation(round4, square);
    const before = tf.memory().numTensors;
    op(x).dispose();
    tf.grad((input: tf.Tensor) => tf.sum(op(input as tf.Tensor4D)))(x).dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
