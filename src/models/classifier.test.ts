import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdvkitError } from '../errors.js';
import { initNodeBackend } from '../backend/node-backend.js';
import { createClassifier, wrapLayersModel } from './create-classifier.js';

function expectClose(a: tf.Tensor, b: tf.Tensor, tol = 1e-5): void {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  for (let i = 0; i < x.length; i++) expect(Math.abs(x[i] - y[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(y[i])));
}

describe('Classifier', () => {
  beforeAll(async () => {
    // cpu: the gradient test needs conv gradients, which the wasm backend is still getting.
    await initNodeBackend({ backend: 'cpu' });
  });

  it('applies scale and per-channel mean/std inside logits(), so inputs stay in pixel space', () => {
    const preprocessing = { scale: 2, mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3] };
    const withPre = createClassifier('cifar-cnn', { inputShape: [8, 8, 3], numClasses: 4, seed: 3, preprocessing });
    const plain = createClassifier('cifar-cnn', { inputShape: [8, 8, 3], numClasses: 4, seed: 3 });
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.randomUniform([3, 8, 8, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
      const manual = tf.div(tf.sub(tf.mul(x, 2), tf.tensor1d(preprocessing.mean)), tf.tensor1d(preprocessing.std));
      expectClose(withPre.logits(x), plain.logits(manual as tf.Tensor4D));
      expectClose(withPre.predict(x), tf.softmax(withPre.logits(x)));
    });
    expect(tf.memory().numTensors).toBe(before);
    withPre.dispose();
    plain.dispose();
  });

  it('exposes its shape, bounds, classes and metadata', () => {
    const c = createClassifier('mlp', {
      inputShape: [4, 4, 1],
      classNames: ['cat', 'dog', 'bird'],
      hiddenSizes: [8],
      seed: 2,
      dataset: 'toy',
    });
    expect(c.numClasses).toBe(3);
    expect(c.classNames).toEqual(['cat', 'dog', 'bird']);
    expect(c.bounds).toEqual([0, 1]);
    expect(c.metadata).toMatchObject({
      format: 'advkit-model',
      architecture: 'mlp',
      architectureOptions: { hiddenSizes: [8] },
      dataset: 'toy',
      seed: 2,
      inputShape: [4, 4, 1],
    });
    expect(c.trainableVariables()).toHaveLength(4);
    expect(c.trainableVariables().every((v) => v instanceof tf.Variable)).toBe(true);
    c.dispose();
  });

  it('gives input gradients through the preprocessing (cpu)', () => {
    const c = createClassifier('mnist-cnn', { inputShape: [28, 28, 1], numClasses: 10, preprocessing: { std: [0.5] } });
    const before = tf.memory().numTensors;
    const g = tf.tidy(() => {
      const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
      return tf.grad((input: tf.Tensor) => tf.sum(c.logits(tf.reshape(input, [2, 28, 28, 1]))))(x);
    });
    expect(g.shape).toEqual([2, 28, 28, 1]);
    expect(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0])).toBeGreaterThan(0);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    c.dispose();
  });

  it('switches batch norm to batch statistics with training: true', () => {
    const c = createClassifier('cifar-cnn', { inputShape: [8, 8, 3], numClasses: 2, batchNorm: true });
    tf.tidy(() => {
      const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
      const inference = c.logits(x).dataSync();
      const training = c.logits(x, { training: true }).dataSync();
      expect(Array.from(training)).not.toEqual(Array.from(inference));
    });
    c.dispose();
  });

  it('rejects inputs of the wrong shape, bad preprocessing and use after dispose', () => {
    const c = createClassifier('linear', { inputShape: [4, 4, 3], numClasses: 2 });
    const x = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    expect(() => c.logits(x)).toThrow(/shape \[n, 4, 4, 3\], got \[1, 4, 4, 1\]/);
    x.dispose();
    c.dispose();
    expect(() => c.trainableVariables()).toThrow(AdvkitError);
    expect(() =>
      createClassifier('linear', { inputShape: [4, 4, 3], numClasses: 2, preprocessing: { mean: [0.5, 0.5] } }),
    ).toThrow(/preprocessing.mean must be an array of 1 or 3 numbers/);
    expect(() => createClassifier('linear', { inputShape: [4, 4, 3], numClasses: 2, preprocessing: { std: [0] } })).toThrow(
      /std values must be finite numbers > 0/,
    );
    expect(() => createClassifier('linear', { inputShape: [4, 4, 3], numClasses: 3, classNames: ['a', 'b'] })).toThrow(
      /numClasses is 3 but 2 classNames/,
    );
  });

  it('wrapLayersModel strips a final softmax: Dense(softmax) becomes linear, logits = log of the old output', async () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.flatten({ inputShape: [2, 2, 1] }),
        tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
      ],
    });
    const x = tf.randomUniform([5, 2, 2, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const probabilities = model.predict(x) as tf.Tensor;
    const c = await wrapLayersModel(model);
    const logits = c.logits(x);
    expectClose(tf.softmax(logits), probabilities);
    expect(Math.abs(tf.sum(logits, 1).dataSync()[0] - 1)).toBeGreaterThan(1e-3); // not probabilities
    expect(c.metadata.notes?.[0]).toMatch(/softmax activation; it was set to linear/);
    tf.dispose([x, probabilities, logits]);
    c.dispose();
  });

  it('wrapLayersModel removes a final Activation("softmax") layer of a functional model', async () => {
    const input = tfl.input({ shape: [2, 2, 1] });
    const flat = tfl.layers.flatten().apply(input) as tfl.SymbolicTensor;
    const dense = tfl.layers.dense({ units: 3, kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }).apply(flat);
    const out = tfl.layers.activation({ activation: 'softmax', name: 'probs' }).apply(dense) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    const x = tf.randomUniform([5, 2, 2, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const probabilities = model.predict(x) as tf.Tensor;
    const before = tf.memory().numTensors;
    const c = await wrapLayersModel(model, { classNames: ['a', 'b', 'c'] });
    expect(c.net instanceof tfl.LayersModel && c.net.layers.some((l) => l.name === 'probs')).toBe(false);
    const logits = c.logits(x);
    expectClose(tf.softmax(logits), probabilities);
    expect(c.metadata.notes?.[0]).toMatch(/Removed the final softmax layer 'probs'/);
    logits.dispose();
    c.dispose();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
    tf.dispose([x, probabilities]);
  });
});
