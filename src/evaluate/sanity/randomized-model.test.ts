import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMnistFixture, type MnistFixture } from '../../attacks/test-utils/mnist-fixture.js';
import type { Classifier } from '../../models/classifier.js';
import { loadClassifier } from '../../models/node/load-classifier.js';
import { bundledModelDir } from '../../models/node/package-root.js';
import { loadBrokenMnist } from '../test-utils/broken-models.js';
import { checkRandomizedModel } from './randomized-model.js';

describe('checkRandomizedModel', () => {
  let mnist: MnistFixture;
  let robust: Classifier;
  let noisy: Classifier;
  beforeAll(async () => {
    mnist = await loadMnistFixture(32);
    robust = await loadClassifier(bundledModelDir('mnist-cnn-robust'));
    noisy = await loadBrokenMnist('noisy', { sigma: 0.1, seed: 1 });
  });
  afterAll(() => {
    noisy.dispose();
    robust.dispose();
    mnist.dispose();
  });

  it('warns on a model with input noise when the evaluation used no EOT', async () => {
    const before = tf.memory().numTensors;
    const flag = await checkRandomizedModel(
      { classifier: noisy, x: mnist.x, labels: mnist.labels, batchSize: 20 },
      { eot: false },
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(flag).toMatchObject({ id: 'randomized-model', severity: 'warning' });
    expect(flag?.detail).toMatch(
      /^Two forward passes on the same 32 inputs give logits that differ by up to \d/,
    );
    expect(flag?.advice).toMatch(/Expectation over Transformation/);
  });

  it('only informs when the evaluation used EOT', async () => {
    const flag = await checkRandomizedModel(
      { classifier: noisy, x: mnist.x, labels: mnist.labels },
      { eot: true },
    );
    expect(flag).toMatchObject({ id: 'randomized-model', severity: 'info' });
  });

  it('stays silent on the bundled standard and robust MNIST models (deterministic)', async () => {
    for (const classifier of [mnist.classifier, robust]) {
      const sample = { classifier, x: mnist.x, labels: mnist.labels };
      expect(await checkRandomizedModel(sample, { eot: false })).toBeNull();
    }
  });
});
