import * as tfl from '@tensorflow/tfjs-layers';
import { OptionReader, SeededInitializers, type ArchitectureOptions } from './options.js';
import { buildTwoConvCnn } from './two-conv-cnn.js';

/**
 * The MNIST challenge CNN of Madry et al. 2018 ("Towards Deep Learning Models Resistant to Adversarial
 * Attacks", github.com/MadryLab/mnist_challenge): conv5x5-32 'same', ReLU, maxpool 2, conv5x5-64 'same',
 * ReLU, maxpool 2, fc1024 ReLU, fc10. Identical to MadryMNIST in shared/bench/torch_baseline.py.
 */
export function buildMadryMnistCnn(opts: ArchitectureOptions): tfl.LayersModel {
  const o = new OptionReader('madry-mnist-cnn', opts, []);
  const init = new SeededInitializers(o.seed);
  return buildTwoConvCnn(o, init, { name: 'madry_mnist_cnn', filters: [32, 64], hidden: 1024 });
}
