import * as tfl from '@tensorflow/tfjs-layers';
import type { OptionReader, SeededInitializers } from './options.js';

export interface TwoConvCnnShape {
  name: string;
  /** Filters of the two 5x5 convolutions. */
  filters: [number, number];
  /** Units of the hidden dense layer. */
  hidden: number;
}

/**
 * The LeNet-style MNIST network shared by 'madry-mnist-cnn' and 'mnist-cnn': conv5x5 'same' ReLU, maxpool 2,
 * conv5x5 'same' ReLU, maxpool 2, dense ReLU, dense logits. Only the widths differ between the two.
 */
export function buildTwoConvCnn(o: OptionReader, init: SeededInitializers, shape: TwoConvCnnShape): tfl.LayersModel {
  const conv = (filters: number, name: string, first: boolean): tfl.layers.Layer =>
    tfl.layers.conv2d({
      ...(first ? { inputShape: o.inputShape } : {}),
      filters,
      kernelSize: 5,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init.conv(),
      name,
    });
  return tfl.sequential({
    name: shape.name,
    layers: [
      conv(shape.filters[0], 'conv1', true),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool1' }),
      conv(shape.filters[1], 'conv2', false),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool2' }),
      tfl.layers.flatten({ name: 'flatten' }),
      tfl.layers.dense({ units: shape.hidden, activation: 'relu', kernelInitializer: init.dense(), name: 'fc1' }),
      tfl.layers.dense({ units: o.numClasses, kernelInitializer: init.dense(), name: 'logits' }),
    ],
  });
}
