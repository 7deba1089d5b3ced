import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMnistFixture, type MnistFixture } from '../../attacks/test-utils/mnist-fixture.js';
import type { Classifier } from '../../models/classifier.js';
import { loadClassifier } from '../../models/node/load-classifier.js';
import { bundledModelDir } from '../../models/node/package-root.js';
import { loadBrokenMnist } from '../test-utils/broken-models.js';
import { checkProbabilityOutputs } from './probability-outputs.js';

describe('checkProbabilityOutputs', () => {
  let mnist: MnistFixture;
  let robust: Classifier;
  beforeAll(async () => {
    mnist = await loadMnistFixture(32);
    robust = await loadClassifier(bundledModelDir('mnist-cnn-robust'));
  });
  afterAll(() => {
    robust.dispose();
    mnist.dispose();
  });

  it('fires on a model that ends in a softmax, and says what it measured', async () => {
    const softmax = await loadBrokenMnist('softmax');
    const before = tf.memory().numTensors;
    const flag = await checkProbabilityOutputs({
      classifier: softmax,
      x: mnist.x,
      labels: mnist.labels,
      batchSize: 20,
    });
    expect(tf.memory().numTensors).toBe(before);
    softmax.dispose();
    expect(flag).toMatchObject({ id: 'probability-outputs', severity: 'warning' });
    expect(flag?.detail).toMatch(/^On 32 inputs every output lies in \[.*, 1\] and each row sums to 1/);
    expect(flag?.advice).toMatch(/remove the final softmax/);
  });

  it('stays silent on the bundled standard and robust MNIST models (logits)', async () => {
    for (const classifier of [mnist.classifier, robust]) {
      expect(await checkProbabilityOutputs({ classifier, x: mnist.x, labels: mnist.labels })).toBeNull();
    }
  });
});
