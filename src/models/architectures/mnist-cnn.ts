import * as tfl from '@tensorflow/tfjs-layers';
import { OptionReader, SeededInitializers, type ArchitectureOptions } from './options.js';

/**
 * A small MNIST CNN, the bundled reference model: conv5x5-16 'same', ReLU, maxpool 2, conv5x5-32 'same',
 * ReLU, maxpool 2, fc128 ReLU, fc10 (about 215k parameters, < 1 MB of float32 weights). A slimmed
 * LeNet-5 (LeCun et al. 1998) with ReLU and max-pooling; it reaches >= 99% MNIST test accuracy.
 */
export function buildMnistCnn(opts: ArchitectureOptions): tfl.LayersModel {
  const o = new OptionReader('mnist-cnn', opts, []);
  const init = new SeededInitializers(o.seed);
  return tfl.sequential({
    name: 'mnist_cnn',
    layers: [
      tfl.layers.conv2d({
        inputShape: o.inputShape,
        filters: 16,
        kernelSize: 5,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init.conv(),
        name: 'conv1',
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool1' }),
      tfl.layers.conv2d({
        filters: 32,
        kernelSize: 5,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init.conv(),
        name: 'conv2',
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool2' }),
      tfl.layers.flatten({ name: 'flatten' }),
      tfl.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init.dense(), name: 'fc1' }),
      tfl.layers.dense({ units: o.numClasses, kernelInitializer: init.dense(), name: 'logits' }),
    ],
  });
}
