import * as tfl from '@tensorflow/tfjs-layers';
import { OptionReader, SeededInitializers, type ArchitectureOptions } from './options.js';

/**
 * Multi-layer perceptron: flatten, dense+ReLU for each of `hiddenSizes` (default [256, 256]), dense logits.
 * The fully connected baseline of the MNIST literature (LeCun et al. 1998, "Gradient-based learning applied
 * to document recognition", section on fully connected nets).
 */
export function buildMlp(opts: ArchitectureOptions): tfl.LayersModel {
  const o = new OptionReader('mlp', opts, ['hiddenSizes']);
  const hiddenSizes = o.integerList('hiddenSizes', [256, 256]);
  const init = new SeededInitializers(o.seed);
  const model = tfl.sequential({ name: 'mlp' });
  model.add(tfl.layers.flatten({ inputShape: o.inputShape, name: 'flatten' }));
  hiddenSizes.forEach((units, i) => {
    model.add(tfl.layers.dense({ units, activation: 'relu', kernelInitializer: init.dense(), name: `fc${i + 1}` }));
  });
  model.add(tfl.layers.dense({ units: o.numClasses, kernelInitializer: init.dense(), name: 'logits' }));
  return model;
}
