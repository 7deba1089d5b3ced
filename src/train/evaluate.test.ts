import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { createClassifier } from '../models/create-classifier.js';
import { evaluateAccuracy } from './evaluate.js';
import { blobDataset } from './test-utils/fixtures.js';

beforeAll(async () => {
  await initNodeBackend({ backend: 'cpu' });
});

describe('evaluateAccuracy', () => {
  it('equals the fraction of argmax(logits) == label, whatever the batch size, without leaks', async () => {
    const data = blobDataset({ count: 37, size: 4, classes: 3, seed: 4 });
    const classifier = createClassifier('linear', { inputShape: [4, 4, 1], numClasses: 3, seed: 2 });
    const expected = tf.tidy(() => {
      const x = tf.tensor4d(
        Float32Array.from(data.pixels, (p) => p / 255),
        [37, 4, 4, 1],
      );
      const predicted = tf.argMax(classifier.logits(x), 1).dataSync();
      return predicted.filter((p, i) => p === data.labels[i]).length / data.count;
    });
    const before = tf.memory().numTensors;
    for (const batchSize of [1, 8, 256])
      expect(await evaluateAccuracy(classifier, data, batchSize)).toBe(expected);
    expect(tf.memory().numTensors).toBe(before);
    await expect(evaluateAccuracy(classifier, data, 0)).rejects.toThrow(
      /batchSize must be a positive integer/,
    );
    await expect(evaluateAccuracy(classifier, blobDataset({ count: 3, size: 5 }))).rejects.toThrow(
      /Dataset 'blobs' \(train\) has 5x5x1 images but the model expects 4x4x1/,
    );
    await expect(
      evaluateAccuracy(classifier, blobDataset({ count: 3, size: 4, classes: 5 })),
    ).rejects.toThrow(/has 5 classes but the model has 3 outputs/);
    classifier.dispose();
  });
});
