import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgd } from '../../attacks/pgd.js';
import { runAttack } from '../../attacks/run-attack.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import { smoothCnn, uniformInputs } from '../../explain/test-utils/models.js';
import type { Classifier } from '../../models/classifier.js';
import { CountedModel } from '../../models/counted-model.js';
import type { Model } from '../../models/model.js';
import { functionModel } from '../test-utils/models.js';
import { bitDepth } from './bit-depth.js';
import { DefendedModel } from './defended-model.js';
import { jpeg } from './jpeg.js';

let cnn: Classifier;
let xs: tf.Tensor4D;

beforeAll(async () => {
  await initNodeBackend();
  cnn = smoothCnn(8, 3);
  xs = uniformInputs(3, [8, 8, 3], 4);
});
afterAll(() => {
  cnn.dispose();
  xs.dispose();
});

function values(t: tf.Tensor): number[] {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
}

describe('DefendedModel', () => {
  it('is the model on the transformed input, with the model facts and the chain flags', () => {
    const defended = new DefendedModel(cnn, 'jpeg:50,bits:3', { disposeModel: false });
    expect(defended.spec).toBe('jpeg:50,bits:3');
    expect([defended.differentiable, defended.random]).toEqual([false, false]);
    expect(defended.inputShape).toEqual(cnn.inputShape);
    expect(defended.bounds).toEqual(cnn.bounds);
    expect(defended.numClasses).toBe(3);
    const asModel: Model = defended;
    expect(asModel.activations).toBeUndefined();
    const expected = tf.tidy(() => {
      const squeezed = bitDepth(3).apply(jpeg(50).apply(xs, { bounds: [0, 1] }), { bounds: [0, 1] });
      return cnn.logits(squeezed);
    });
    expect(values(defended.logits(xs))).toEqual(values(expected));
    expect(values(defended.logits(xs))).toEqual(values(defended.logits(xs)));
    const p = values(defended.predict(xs));
    expect(p[0] + p[1] + p[2]).toBeCloseTo(1, 5);
    expect(new DefendedModel(cnn, [], { disposeModel: false }).differentiable).toBe(true);
  });

  it('draws anew at each call of a random chain, and repeats the sequence for the same seed', () => {
    const a = new DefendedModel(cnn, 'resize-pad:0.5,blur:0.5', { seed: 9, disposeModel: false });
    const b = new DefendedModel(cnn, 'resize-pad:0.5,blur:0.5', { seed: 9, disposeModel: false });
    expect([a.random, a.differentiable]).toEqual([true, true]);
    const first = [values(a.logits(xs)), values(a.logits(xs)), values(a.logits(xs))].map(String);
    const second = [values(b.logits(xs)), values(b.logits(xs)), values(b.logits(xs))].map(String);
    expect(first).toEqual(second);
    expect(new Set(first).size).toBeGreaterThan(1);
  });

  it('passes gradients through BPDA: the identity for jpeg and bits, so a linear model gives its weights', () => {
    const w = tf.tensor1d([0.5, -2, 1, 3]);
    const linear = functionModel([2, 2, 1], 2, (x) => {
      const z = tf.sum(tf.mul(tf.reshape(x, [-1, 4]), w), 1, true);
      return tf.concat([z, tf.neg(z)], 1) as tf.Tensor2D;
    });
    const defended = new DefendedModel(linear, 'jpeg:75,bits:4,median:1');
    const x = tf.tensor4d([0.1, 0.5, 0.7, 0.2], [1, 2, 2, 1]);
    const before = tf.memory().numTensors;
    const counted = new CountedModel(defended);
    const pass = counted.gradient(x, (z) => tf.squeeze(tf.slice(z, [0, 0], [-1, 1]), [1]));
    const grad = values(pass.grad);
    tf.dispose([pass.logits, pass.loss]);
    expect(tf.memory().numTensors).toBe(before);
    expect(grad).toEqual([0.5, -2, 1, 3]);
    tf.dispose([x, w]);
  });

  it('masks the gradient of non-differentiable transforms when asked for naive gradients, and keeps blur exact', () => {
    const w = tf.tensor1d([0.5, -2, 1, 3]);
    const linear = functionModel([2, 2, 1], 2, (x) => {
      const z = tf.sum(tf.mul(tf.reshape(x, [-1, 4]), w), 1, true);
      return tf.concat([z, tf.neg(z)], 1) as tf.Tensor2D;
    });
    const x = tf.tensor4d([0.1, 0.5, 0.7, 0.2], [1, 2, 2, 1]);
    const gradOf = (spec: string, gradients: 'bpda' | 'naive') => {
      const counted = new CountedModel(new DefendedModel(linear, spec, { gradients, disposeModel: false }));
      const pass = counted.gradient(x, (z) => tf.squeeze(tf.slice(z, [0, 0], [-1, 1]), [1]));
      const grad = values(pass.grad);
      tf.dispose([pass.logits, pass.loss, pass.grad]);
      return grad;
    };
    const before = tf.memory().numTensors;
    const naive = new DefendedModel(linear, 'jpeg:75,bits:4', { gradients: 'naive', disposeModel: false });
    expect(naive.gradients).toBe('naive');
    expect(values(naive.logits(x))).toEqual(values(new DefendedModel(linear, 'jpeg:75,bits:4').logits(x)));
    expect(gradOf('jpeg:75,bits:4', 'naive')).toEqual([0, 0, 0, 0]);
    expect(gradOf('blur:0.5', 'naive')).toEqual(gradOf('blur:0.5', 'bpda'));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
  });

  it('lets an attack run through it unchanged, with EOT over a random chain, and leaks nothing', async () => {
    const defended = new DefendedModel(cnn, 'bits:5,resize-pad:0.25', { disposeModel: false });
    const labels = Int32Array.from(values(tf.argMax(cnn.logits(xs), 1)));
    const before = tf.memory().numTensors;
    const run = await runAttack(defended, pgd, {
      x: xs,
      labels,
      eps: 0.1,
      eot: 2,
      params: { steps: 3 },
      keepAdversarial: false,
    });
    expect(run.results[0].cost.gradients).toBe(3 * 3 * 2);
    run.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('disposes the wrapped model unless told not to', () => {
    let disposed = 0;
    const inner = { ...functionModel([1, 1, 1], 2, (x) => tf.reshape(tf.concat([x, x], 3), [-1, 2])) };
    inner.dispose = () => {
      disposed++;
    };
    new DefendedModel(inner, 'none', { disposeModel: false }).dispose();
    new DefendedModel(inner, 'none').dispose();
    expect(disposed).toBe(1);
  });
});
