import * as tfl from '@tensorflow/tfjs-layers';
import { OptionReader, SeededInitializers, type ArchitectureOptions } from './options.js';

/**
 * The MNIST challenge CNN of Madry et al. 2018 ("Towards Deep Learning Models Resistant to Adversarial
 * Attacks", github.com/MadryLab/mnist_challenge): conv5x5-32 'same', ReLU, maxpool 2, conv5x5-64 'same',
 * ReLU, maxpool 2, fc1024 ReLU, fc10. Identical to MadryMNIST in shared/bench/torch_baseline.py.
 */
export function buildMadryMnistCnn(opts: ArchitectureOptions): tfl.LayersModel {
  const o = new OptionReader('madry-mnist-cnn', opts, []);
  const init = new SeededInitializers(o.seed);
  return tfl.sequential({
    name: 'madry_mnist_cnn',
    layers: [
      tfl.layers.conv2d({
        inputShape: o.inputShape,
        filters: 32,
        kernelSize: 5,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init.conv(),
        name: 'conv1',
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool1' }),
      tfl.layers.conv2d({
        filters: 64,
        kernelSize: 5,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init.conv(),
        name: 'conv2',
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool2' }),
      tfl.layers.flatten({ name: 'flatten' }),
      tfl.layers.dense({ units: 1024, activation: 'relu', kernelInitializer: init.dense(), name: 'fc1' }),
      tfl.layers.dense({ units: o.numClasses, kernelInitializer: init.dense(), name: 'logits' }),
    ],
  });
}
