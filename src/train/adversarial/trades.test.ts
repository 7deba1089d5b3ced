import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { toTensors } from '../../data/dataset.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import { createClassifier } from '../../models/create-classifier.js';
import { Rng } from '../../util/rng.js';
import { crossEntropyFromLogits } from '../loss.js';
import { blobDataset } from '../test-utils/fixtures.js';
import { tradesLoss, tradesPerturb } from './trades.js';

beforeAll(async () => {
  await initNodeBackend({ backend: 'cpu' });
});

function meanKl(clean: tf.Tensor2D, adv: tf.Tensor2D): number {
  return tf.tidy(() => {
    const logP = tf.logSoftmax(clean);
    return tf.mean(tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, tf.logSoftmax(adv))), 1)).dataSync()[0];
  });
}

describe('TRADES', () => {
  const data = blobDataset({ count: 12 });

  it('the inner maximisation stays in the ball and the bounds, raises the KL, is seeded and leaks nothing', async () => {
    const classifier = createClassifier('mlp', {
      inputShape: [8, 8, 1],
      numClasses: 4,
      seed: 3,
      hiddenSizes: [16],
    });
    const { x, y } = toTensors(data);
    const labels = Int32Array.from(data.labels);
    const before = tf.memory().numTensors;
    for (const [norm, eps] of [
      ['linf', 0.1],
      ['l2', 1],
    ] as const) {
      const settings = { eps, norm, steps: 5, stepSize: eps / 4 };
      const a = await tradesPerturb(classifier, x, labels, settings, new Rng(1));
      const b = await tradesPerturb(classifier, x, labels, settings, new Rng(1));
      expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
      const dist = tf.tidy(() => {
        const d = tf.reshape(tf.sub(a, x), [x.shape[0], -1]);
        return (norm === 'linf' ? tf.max(tf.abs(d), 1) : tf.norm(d, 2, 1)).dataSync();
      });
      dist.forEach((v) => expect(v).toBeLessThanOrEqual(eps * (1 + 1e-5)));
      const range = tf.tidy(() => [tf.min(a).dataSync()[0], tf.max(a).dataSync()[0]]);
      expect(range[0]).toBeGreaterThanOrEqual(0);
      expect(range[1]).toBeLessThanOrEqual(1);
      const klAdv = tf.tidy(() => meanKl(classifier.logits(x), classifier.logits(a)));
      const zeroSteps = await tradesPerturb(classifier, x, labels, { ...settings, steps: 0 }, new Rng(1));
      const klStart = tf.tidy(() => meanKl(classifier.logits(x), classifier.logits(zeroSteps)));
      expect(klStart).toBeLessThan(1e-4); // 0.001 * N(0, 1) noise
      expect(klAdv, norm).toBeGreaterThan(100 * Math.max(klStart, 1e-7));
      tf.dispose([a, b, zeroSteps]);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
    classifier.dispose();
  });

  it('the outer loss is CE(clean) + beta * KL(clean || adversarial)', () => {
    const clean = tf.tensor2d([
      [2, 0.5, -1, 0],
      [0, 1, 0.5, 3],
    ]);
    const adv = tf.tensor2d([
      [1, 0.7, -0.5, 0.2],
      [0.5, 1.5, 0, 1],
    ]);
    const y = tf.tensor1d([0, 3], 'int32');
    const ce = crossEntropyFromLogits(clean, y);
    const loss = tradesLoss(clean, adv, ce, 6);
    expect(loss.dataSync()[0]).toBeCloseTo(ce.dataSync()[0] + 6 * meanKl(clean, adv), 5);
    expect(tradesLoss(clean, adv, ce, 0).dataSync()[0]).toBe(ce.dataSync()[0]);
    tf.dispose([clean, adv, y, ce, loss]);
  });
});
