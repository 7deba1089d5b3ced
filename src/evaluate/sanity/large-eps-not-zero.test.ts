import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMnistFixture, type MnistFixture } from '../../attacks/test-utils/mnist-fixture.js';
import type { Classifier } from '../../models/classifier.js';
import { loadClassifier } from '../../models/node/load-classifier.js';
import { bundledModelDir } from '../../models/node/package-root.js';
import { loadBrokenMnist } from '../test-utils/broken-models.js';
import { boxDiameter, checkLargeEps } from './large-eps-not-zero.js';

describe('boxDiameter', () => {
  it('is the distance between opposite corners of the box in each norm', () => {
    expect(boxDiameter('linf', [0, 1], 784)).toBe(1);
    expect(boxDiameter('l2', [-1, 1], 16)).toBe(8);
    expect(boxDiameter('l1', [0, 255], 3)).toBe(765);
  });
});

describe('checkLargeEps', () => {
  let mnist: MnistFixture;
  let robust: Classifier;
  beforeAll(async () => {
    mnist = await loadMnistFixture(16);
    robust = await loadClassifier(bundledModelDir('mnist-cnn-robust'));
  });
  afterAll(() => {
    robust.dispose();
    mnist.dispose();
  });

  it('fires when PGD at a box-wide budget cannot move a model with masked gradients', async () => {
    const quantized = await loadBrokenMnist('quantized');
    const before = tf.memory().numTensors;
    const flag = await checkLargeEps({
      classifier: quantized,
      x: mnist.x,
      labels: mnist.labels,
      norm: 'linf',
      seed: 0,
    });
    expect(tf.memory().numTensors).toBe(before);
    quantized.dispose();
    expect(flag).toMatchObject({ id: 'large-eps-not-zero', severity: 'warning' });
    expect(flag?.detail).toContain('linf eps 1, enough to reach any input in [0, 1], left 16 of 16');
  });

  it.each(['linf', 'l2'] as const)(
    'stays silent on the bundled standard and robust MNIST models (%s)',
    async (norm) => {
      for (const classifier of [mnist.classifier, robust]) {
        const input = { classifier, x: mnist.x, labels: mnist.labels, norm, seed: 0 };
        expect(await checkLargeEps(input)).toBeNull();
      }
    },
  );
});
