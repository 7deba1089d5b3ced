import type * as tf from '@tensorflow/tfjs-core';
import { toTensors } from '../../data/dataset.js';
import { loadDataset } from '../../data/node/load-dataset.js';
import { realDataRoot } from '../../data/test-utils/real-data.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import type { Classifier } from '../../models/classifier.js';
import { loadClassifier } from '../../models/node/load-classifier.js';
import { bundledModelDir } from '../../models/node/package-root.js';

export interface MnistFixture {
  classifier: Classifier;
  x: tf.Tensor4D;
  labels: Int32Array;
  dispose(): void;
}

/**
 * The bundled standard MNIST CNN and the first `count` images of the MNIST test set (a fixed sample, so the
 * strength bars are reproducible). Runs on wasm, the default Node backend.
 */
export async function loadMnistFixture(count: number, offset = 0): Promise<MnistFixture> {
  await initNodeBackend();
  const classifier = await loadClassifier(bundledModelDir('mnist-cnn'));
  const test = await loadDataset('mnist', { split: 'test', dir: realDataRoot(), download: false });
  const { x, y } = toTensors(
    test,
    Array.from({ length: count }, (_, i) => offset + i),
  );
  const labels = Int32Array.from(y.dataSync());
  y.dispose();
  return {
    classifier,
    x,
    labels,
    dispose: () => {
      x.dispose();
      classifier.dispose();
    },
  };
}
