import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { CountedModel, disposePass } from './counted-model.js';
import { createClassifier } from './create-classifier.js';
import type { Model } from './model.js';

beforeAll(async () => {
  await initNodeBackend();
});

/** A model whose logits are `scales[k] * base(x)` on its k-th pass (cycling): a randomized model with a known mean. */
function scaledByPass(base: Model, scales: readonly number[]): Model {
  let pass = 0;
  return {
    inputShape: base.inputShape,
    bounds: base.bounds,
    classNames: base.classNames,
    numClasses: base.numClasses,
    logits: (x) => {
      const scale = scales[pass++ % scales.length];
      return tf.tidy(() => tf.mul<tf.Tensor2D>(base.logits(x), scale));
    },
    predict: (x) => tf.tidy(() => tf.softmax(base.logits(x))),
    dispose: () => base.dispose(),
  };
}

/** The logit of class 1 per row: for the linear architecture its input gradient is class 1's weights. */
const secondLogit = (z: tf.Tensor2D): tf.Tensor1D => tf.tidy(() => tf.squeeze<tf.Tensor1D>(tf.slice(z, [0, 1], [-1, 1]), [1]));

describe('CountedModel', () => {
  const model = (): ReturnType<typeof createClassifier> =>
    createClassifier('linear', { inputShape: [2, 2, 1], numClasses: 3, seed: 4 });

  it('returns the input gradient with the logits and loss of its own forward pass (linear model: the weights)', () => {
    const classifier = model();
    const before = tf.memory().numTensors;
    const counted = new CountedModel(classifier);
    const x = tf.tensor4d([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], [2, 2, 2, 1]);
    const pass = counted.gradient(x, secondLogit);
    const kernel = classifier.trainableVariables()[0].arraySync() as number[][];
    const expected = kernel.map((row) => row[1]);
    const grad = Array.from(pass.grad.dataSync());
    grad.forEach((g, i) => expect(g).toBeCloseTo(expected[i % 4], 5));
    const logits = classifier.logits(x);
    const loss = secondLogit(logits);
    expect(Array.from(pass.loss.dataSync())).toEqual(Array.from(loss.dataSync()));
    expect(Array.from(pass.logits.dataSync())).toEqual(Array.from(logits.dataSync()));
    expect(counted.cost).toEqual({ gradients: 2, queries: 2 });
    disposePass(pass);
    tf.dispose([x, logits, loss]);
    expect(tf.memory().numTensors).toBe(before);
    classifier.dispose();
  });

  it('averages eot passes (EOT) and counts each pass as a gradient and a query', () => {
    const classifier = model();
    const randomized = scaledByPass(classifier, [1, 3]);
    const x = tf.tensor4d([0.1, 0.2, 0.3, 0.4], [1, 2, 2, 1]);
    const before = tf.memory().numTensors;
    const counted = new CountedModel(randomized, { eot: 4 });
    const pass = counted.gradient(x, secondLogit);
    const single = new CountedModel(classifier).gradient(x, secondLogit);
    // Passes scale by 1, 3, 1, 3: the mean gradient, loss and logits are twice the plain model's.
    Array.from(pass.grad.dataSync()).forEach((g, i) => expect(g).toBeCloseTo(2 * single.grad.dataSync()[i], 5));
    expect(pass.loss.dataSync()[0]).toBeCloseTo(2 * single.loss.dataSync()[0], 5);
    expect(pass.logits.shape).toEqual([1, 3]);
    expect(counted.cost).toEqual({ gradients: 4, queries: 4 });
    disposePass(pass);
    disposePass(single);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    classifier.dispose();
  });

  it('counts forward queries per example', () => {
    const classifier = model();
    const counted = new CountedModel(classifier);
    const x = tf.zeros<tf.Rank.R4>([5, 2, 2, 1]);
    counted.logits(x).dispose();
    counted.logits(x).dispose();
    expect(counted.cost).toEqual({ gradients: 0, queries: 10 });
    x.dispose();
    classifier.dispose();
  });

  it('refuses an eot that is not a positive integer', () => {
    const classifier = model();
    for (const eot of [0, 1.5, -2]) {
      expect(() => new CountedModel(classifier, { eot })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/eot/) }),
      );
    }
    classifier.dispose();
  });
});
