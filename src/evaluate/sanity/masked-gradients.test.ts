import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMnistFixture, type MnistFixture } from '../../attacks/test-utils/mnist-fixture.js';
import type { Classifier } from '../../models/classifier.js';
import { loadClassifier } from '../../models/node/load-classifier.js';
import { bundledModelDir } from '../../models/node/package-root.js';
import { loadBrokenMnist } from '../test-utils/broken-models.js';
import { checkMaskedGradients } from './masked-gradients.js';

describe('checkMaskedGradients', () => {
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

  it('fires on a model whose input quantization zeroes the gradient, with the counts', async () => {
    const quantized = await loadBrokenMnist('quantized');
    const before = tf.memory().numTensors;
    const flag = await checkMaskedGradients({
      classifier: quantized,
      x: mnist.x,
      labels: mnist.labels,
      batchSize: 20,
    });
    expect(tf.memory().numTensors).toBe(before);
    quantized.dispose();
    expect(flag).toMatchObject({ id: 'masked-gradients', severity: 'warning' });
    expect(flag?.detail).toContain('zero for 32 and non-finite for 0 of 32 points (100.0%)');
    expect(flag?.advice).toMatch(/BPDA/);
  });

  it('counts non-finite gradients too', async () => {
    const sqrt = await loadBrokenMnist('sqrt');
    const flag = await checkMaskedGradients({ classifier: sqrt, x: mnist.x, labels: mnist.labels });
    sqrt.dispose();
    expect(flag?.detail).toContain('zero for 0 and non-finite for 32 of 32 points (100.0%)');
  });

  it('stays silent on the bundled standard and robust MNIST models', async () => {
    for (const classifier of [mnist.classifier, robust]) {
      expect(await checkMaskedGradients({ classifier, x: mnist.x, labels: mnist.labels })).toBeNull();
    }
  });
});
