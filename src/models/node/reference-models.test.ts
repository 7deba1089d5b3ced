import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../data/node/load-dataset.js';
import { realDataRoot } from '../../data/test-utils/real-data.js';
import { initNodeBackend } from '../../engine/node-backend.js';
import { evaluateAccuracy } from '../../train/evaluate.js';
import { loadClassifier } from './load-classifier.js';
import { bundledModelDir } from './package-root.js';

/** The committed reference models keep the accuracy the README states (and their metadata records). */
describe('bundled reference models', () => {
  it.each([
    ['mnist-cnn', 'mnist', 0.99],
    ['cifar-cnn', 'cifar10', 0.8],
  ] as const)('%s on the %s test images', async (name, dataset, floor) => {
    await initNodeBackend({ backend: 'wasm' });
    const classifier = await loadClassifier(bundledModelDir(name));
    const test = await loadDataset(dataset, { split: 'test', dir: realDataRoot(), download: false });
    const accuracy = await evaluateAccuracy(classifier, test);
    expect(accuracy).toBeGreaterThanOrEqual(floor);
    expect(accuracy).toBeCloseTo(classifier.metadata.metrics?.testAccuracy ?? NaN, 3);
    classifier.dispose();
  });
});
