import * as tfl from '@tensorflow/tfjs-layers';
import { OptionReader, SeededInitializers, type ArchitectureOptions } from './options.js';
import { buildTwoConvCnn } from './two-conv-cnn.js';

/**
 * A small MNIST CNN, the bundled reference model: conv5x5-16 'same', ReLU, maxpool 2, conv5x5-32 'same',
 * ReLU, maxpool 2, fc128 ReLU, fc10 (about 215k parameters, < 1 MB of float32 weights). A slimmed
 * LeNet-5 (LeCun et al. 1998) with ReLU and max-pooling; it reaches >= 99% MNIST test accuracy.
 */
export function buildMnistCnn(opts: ArchitectureOptions): tfl.LayersModel {
  const o = new OptionReader('mnist-cnn', opts, []);
  const init = new SeededInitializers(o.seed);
  return buildTwoConvCnn(o, init, { name: 'mnist_cnn', filters: [16, 32], hidden: 128 });
}
