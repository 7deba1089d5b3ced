import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMnistFixture, type MnistFixture } from '../../attacks/test-utils/mnist-fixture.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import type { Classifier } from '../../models/classifier.js';
import { createClassifier } from '../../models/create-classifier.js';
import { explain } from '../explain.js';
import { deletionInsertion } from './faithfulness.js';

/** A linear model on 4x4 one-channel images whose class-0 logit is bias + sum_p w_p x_p, with w_p > 0. */
function linearModel(weights: number[], bias: number): Classifier {
  const model = createClassifier('linear', { inputShape: [4, 4, 1], numClasses: 2, seed: 0 });
  const [kernel, b] = model.trainableVariables();
  kernel.assign(
    tf.tensor2d(
      weights.flatMap((v) => [v, 0]),
      [16, 2],
    ),
  );
  b.assign(tf.tensor1d([bias, 0]));
  return model;
}

const WEIGHTS = Array.from({ length: 16 }, (_, p) => 0.1 + ((p * 7) % 16) / 10);
const PIXELS = Array.from({ length: 16 }, (_, p) => 0.2 + ((p * 5) % 16) / 20);
const BIAS = -1;

describe('deletionInsertion on a linear model (the order is known)', () => {
  let model: Classifier;
  let x: tf.Tensor4D;
  let maps: tf.Tensor4D;
  const contributions = WEIGHTS.map((w, p) => w * PIXELS[p]);
  const byContribution = contributions.map((_, p) => p).sort((a, b) => contributions[b] - contributions[a]);
  beforeAll(async () => {
    await initNodeBackend();
    model = linearModel(WEIGHTS, BIAS);
    x = tf.tensor4d(PIXELS, [1, 4, 4, 1]);
    // Gradient x input: each pixel's exact contribution to the logit.
    maps = tf.tensor4d(contributions, [1, 4, 4, 1]);
  });
  afterAll(() => {
    tf.dispose([x, maps]);
    model.dispose();
  });

  it('deletion removes the largest contributions first: the logit is the bias plus what is left', async () => {
    const before = tf.memory().numTensors;
    const f = await deletionInsertion(model, x, maps, [0], { steps: 16, insertionStart: 'black' });
    expect(tf.memory().numTensors).toBe(before);
    expect(f.fractions).toEqual(Array.from({ length: 17 }, (_, k) => k / 16));
    const total = contributions.reduce((a, b) => a + b, 0);
    let left = total;
    const expected = [BIAS + total];
    for (const p of byContribution) {
      left -= contributions[p];
      expected.push(BIAS + left);
    }
    f.deletion.logits[0].forEach((v, k) => expect(v).toBeCloseTo(expected[k], 4));
    // Insertion from black puts the largest contributions back first.
    const inserted = expected.map((v) => BIAS + total - (v - BIAS));
    f.insertion.logits[0].forEach((v, k) => expect(v).toBeCloseTo(inserted[k], 4));
    // Normalized: (F(x_t) - F(black)) / (F(x) - F(black)) is the share of the contributions left.
    f.deletion.curve.forEach((v, k) => expect(v).toBeCloseTo((expected[k] - BIAS) / total, 4));
    expect(f.deletion.curve[0]).toBeCloseTo(1, 6);
    expect(f.insertion.curve[16]).toBeCloseTo(1, 6);
    // For an additive logit, the greedy order is the best there is: no order deletes faster.
    expect(f.deletion.auc).toBeLessThan(f.random?.deletion.auc ?? NaN);
    expect(f.insertion.auc).toBeGreaterThan(f.random?.insertion.auc ?? NaN);
    expect(f.score).toBeCloseTo(f.insertion.auc - f.deletion.auc, 10);
    expect(f.deletion.logitAuc).toBeCloseTo(f.deletion.auc * total + BIAS, 4);
    expect(f.queries).toBe(4 * 17);
  });

  it('the reverse order is the worst: deletion AUC above the random order, insertion below', async () => {
    const reversed = tf.neg(maps);
    // Signed spatial maps are ranked by value, most positive first: -contribution reverses the order.
    const spatial = tf.reshape(reversed, [1, 4, 4]);
    const f = await deletionInsertion(model, x, spatial, [0], { steps: 16, randomOrders: 3 });
    expect(f.deletion.auc).toBeGreaterThan(f.random?.deletion.auc ?? NaN);
    expect(f.insertion.auc).toBeLessThan(f.random?.insertion.auc ?? NaN);
    // Pixel maps are ranked by |value|: the same map with its sign flipped keeps the greedy order.
    const abs = await deletionInsertion(model, x, reversed, [0], { steps: 16, randomOrders: 0 });
    expect(abs.random).toBeUndefined();
    expect(abs.deletion.auc).toBeLessThan(f.random?.deletion.auc ?? NaN);
    tf.dispose([reversed, spatial]);
  });

  it('follows the logit of the class asked for, and batch size does not change it', async () => {
    const a = await deletionInsertion(model, x, maps, [1], { steps: 4, batchSize: 3 });
    const b = await deletionInsertion(model, x, maps, [1], { steps: 4, batchSize: 64 });
    // Class 1 has zero weights and bias: its logit stays 0 and the normalized curve is undefined.
    expect(a.deletion.logits[0]).toEqual([0, 0, 0, 0, 0]);
    expect(a.deletion.aucPerInput[0]).toBeNaN();
    expect(a.deletion.probabilityAuc).toBeGreaterThan(0);
    // Batched kernels may round differently; the values agree to float precision.
    expect(b.insertion.probabilityAuc).toBeCloseTo(a.insertion.probabilityAuc, 6);
    expect(b.deletion.logits).toEqual(a.deletion.logits);
  });

  it('equal scores are ordered at random, seeded: the same seed repeats, another one differs', async () => {
    const flat = tf.zeros([1, 4, 4, 1]);
    const a = await deletionInsertion(model, x, flat, [0], { steps: 8, seed: 3 });
    const b = await deletionInsertion(model, x, flat, [0], { steps: 8, seed: 3 });
    const c = await deletionInsertion(model, x, flat, [0], { steps: 8, seed: 4 });
    expect(b).toEqual(a);
    expect(c.deletion.logits).not.toEqual(a.deletion.logits);
    flat.dispose();
  });

  it('rejects bad arguments with messages that say what is expected', async () => {
    const run = (opts: object, m: tf.Tensor = maps, targets: number[] = [0]) =>
      deletionInsertion(model, x, m, targets, opts);
    const wrong = tf.zeros([1, 4, 4]);
    const bad = tf.zeros([1, 3, 4]);
    await expect(run({}, bad)).rejects.toThrow(
      /maps of shape \[1, 3, 4\] do not fit inputs of shape \[1, 4, 4, 1\]; expected pixel maps \[1, 4, 4, 1\] or spatial maps \[1, 4, 4\]/,
    );
    await expect(run({}, wrong, [0, 1])).rejects.toThrow(/got 2 targets for 1 inputs/);
    await expect(run({}, wrong, [2])).rejects.toThrow(
      /target 2 of input 0 is not a class index of this model \(0 to 1\)/,
    );
    await expect(run({ steps: 0 })).rejects.toThrow(/steps must be an integer >= 1, got 0/);
    await expect(run({ randomOrders: 1.5 })).rejects.toThrow(/randomOrders must be an integer >= 0/);
    await expect(run({ deletionBaseline: 'white' })).rejects.toThrow(
      /deletionBaseline must be one of 'black', 'grey', 'blur', got "white"/,
    );
    await expect(run({ blurSigma: 0 })).rejects.toThrow(/blurSigma must be a number > 0, got 0/);
    await expect(run({ seed: -1 })).rejects.toThrow(/seed must be an integer/);
    const x3 = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    await expect(deletionInsertion(model, x3, maps, [0])).rejects.toThrow(
      /expected inputs of shape \[n, 4, 4, 1\], got \[1, 4, 4, 3\]/,
    );
    const nan = tf.fill([1, 4, 4], NaN);
    await expect(run({}, nan)).rejects.toThrow(/the maps contain NaN/);
    const aborted = new AbortController();
    aborted.abort();
    await expect(run({ signal: aborted.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    tf.dispose([wrong, bad, x3, nan]);
  });
});

describe('deletionInsertion on the MNIST CNN', () => {
  let mnist: MnistFixture;
  beforeAll(async () => {
    mnist = await loadMnistFixture(8);
  });
  afterAll(() => mnist.dispose());

  it('gradient x input and Grad-CAM beat a random pixel order both ways', async () => {
    for (const method of ['gradient-x-input', 'gradcam']) {
      const before = tf.memory().numTensors;
      const a = await explain(mnist.classifier, method, { x: mnist.x });
      const f = await deletionInsertion(mnist.classifier, mnist.x, a.maps, a.targets, { seed: 1 });
      a.maps.dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect(f.deletion.auc, method).toBeLessThan(f.random?.deletion.auc ?? NaN);
      expect(f.insertion.auc, method).toBeGreaterThan(f.random?.insertion.auc ?? NaN);
      expect(f.deletion.logits).toHaveLength(8);
      expect(f.deletion.curve).toHaveLength(21);
    }
  });
});
