import * as tfl from '@tensorflow/tfjs-layers';
import { OptionReader, SeededInitializers, type ArchitectureOptions } from './options.js';

/**
 * The small CIFAR-10 CNN of shared/bench/torch_baseline.py (SmallCIFAR): conv3x3-32, conv3x3-32, maxpool 2,
 * conv3x3-64, conv3x3-64, maxpool 2, fc256, fc10, 'same' padding and ReLU throughout (the classic
 * Keras/Carlini-Wagner-style CIFAR network).
 *
 * Options (both off by default, which gives exactly the bench network):
 * - `batchNorm` (boolean): BatchNormalization between each convolution (then without bias) and its ReLU
 *   (Ioffe & Szegedy 2015).
 * - `dropout` (rate in [0, 1)): dropout after each pooling stage and after fc256 (Srivastava et al. 2014).
 *   Training seeds its masks per step (see withSeededMathRandom), so runs with dropout are reproducible.
 */
export function buildCifarCnn(opts: ArchitectureOptions): tfl.LayersModel {
  const o = new OptionReader('cifar-cnn', opts, ['batchNorm', 'dropout']);
  const batchNorm = o.boolean('batchNorm', false);
  const dropout = o.rate('dropout', 0);
  const init = new SeededInitializers(o.seed);
  const model = tfl.sequential({ name: 'cifar_cnn' });

  const conv = (filters: number, name: string, first: boolean): void => {
    model.add(
      tfl.layers.conv2d({
        ...(first ? { inputShape: o.inputShape } : {}),
        filters,
        kernelSize: 3,
        padding: 'same',
        useBias: !batchNorm,
        activation: batchNorm ? 'linear' : 'relu',
        kernelInitializer: init.conv(),
        name,
      }),
    );
    if (batchNorm) {
      model.add(tfl.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5, name: `${name}_bn` }));
      model.add(tfl.layers.activation({ activation: 'relu', name: `${name}_relu` }));
    }
  };
  const dropoutLayer = (name: string): void => {
    if (dropout > 0) model.add(tfl.layers.dropout({ rate: dropout, name }));
  };

  conv(32, 'conv1', true);
  conv(32, 'conv2', false);
  model.add(tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool1' }));
  dropoutLayer('drop1');
  conv(64, 'conv3', false);
  conv(64, 'conv4', false);
  model.add(tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool2' }));
  dropoutLayer('drop2');
  model.add(tfl.layers.flatten({ name: 'flatten' }));
  model.add(tfl.layers.dense({ units: 256, activation: 'relu', kernelInitializer: init.dense(), name: 'fc1' }));
  dropoutLayer('drop3');
  model.add(tfl.layers.dense({ units: o.numClasses, kernelInitializer: init.dense(), name: 'logits' }));
  return model;
}
