import * as tf from '@tensorflow/tfjs-core';
import { toTensors } from '../../data/dataset.js';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../data/node/load-dataset.js';
import { realDataRoot } from '../../data/test-utils/real-data.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import { evaluateAccuracy } from '../../train/evaluate.js';
import { loadClassifier } from './load-classifier.js';
import { bundledModelDir } from './package-root.js';
import { pgd } from '../../attacks/pgd.js';
import { runAttack } from '../../attacks/run-attack.js';
import { loadMnistFixture } from '../../attacks/test-utils/mnist-fixture.js';

/** The committed reference models keep the accuracy the README states (and their metadata records). */
describe('bundled reference models', () => {
  it.each([
    ['mnist-cnn', 'mnist', 0.99],
    ['mnist-cnn-robust', 'mnist', 0.98],
    ['cifar-cnn', 'cifar10', 0.8],
    ['cifar-cnn-robust', 'cifar10', 0.55],
  ] as const)('%s on the %s test images', async (name, dataset, floor) => {
    await initNodeBackend();
    const classifier = await loadClassifier(bundledModelDir(name));
    const test = await loadDataset(dataset, { split: 'test', dir: realDataRoot(), download: false });
    const accuracy = await evaluateAccuracy(classifier, test);
    expect(accuracy).toBeGreaterThanOrEqual(floor);
    expect(accuracy).toBeCloseTo(classifier.metadata.metrics?.testAccuracy ?? NaN, 3);
    classifier.dispose();
  });
});

describe('the bundled robust MNIST model', () => {
  it('resists PGD at Linf eps 0.3 where the standard model falls (first 100 test images)', async () => {
    const robust = await loadMnistFixture(100);
    const standard = await loadClassifier(bundledModelDir('mnist-cnn'));
    const model = await loadClassifier(bundledModelDir('mnist-cnn-robust'));
    const options = { x: robust.x, labels: robust.labels, eps: 0.3, params: { steps: 20 }, keepAdversarial: false };
    const onRobust = await runAttack(model, pgd, options);
    const onStandard = await runAttack(standard, pgd, options);
    // Full test set, PGD-40: 95.05% (advkit.json); 20 steps on this sample leave far more than the standard model's 0%.
    expect(onRobust.results[0].accuracy).toBeGreaterThanOrEqual(0.85);
    expect(onStandard.results[0].accuracy).toBeLessThanOrEqual(0.02);
    model.dispose();
    standard.dispose();
    robust.dispose();
  });
});

describe('the bundled robust CIFAR-10 model', () => {
  it('resists PGD at Linf 8/255 where the standard model falls (first 100 test images)', async () => {
    await initNodeBackend();
    const test = await loadDataset('cifar10', { split: 'test', dir: realDataRoot(), download: false });
    const { x, y } = toTensors(test, Array.from({ length: 100 }, (_, i) => i));
    const labels = Int32Array.from(y.dataSync());
    y.dispose();
    const standard = await loadClassifier(bundledModelDir('cifar-cnn'));
    const model = await loadClassifier(bundledModelDir('cifar-cnn-robust'));
    const options = { x, labels, eps: 8 / 255, params: { steps: 10, stepSize: 2 / 255 }, keepAdversarial: false };
    const onRobust = await runAttack(model, pgd, options);
    const onStandard = await runAttack(standard, pgd, options);
    // 1,000 test images, PGD-20: 32.9% (advkit.json).
    expect(onRobust.results[0].accuracy).toBeGreaterThanOrEqual(0.25);
    expect(onStandard.results[0].accuracy).toBeLessThanOrEqual(0.05);
    tf.dispose(x);
    model.dispose();
    standard.dispose();
  });
});
