import * as tfl from '@tensorflow/tfjs-layers';
import { OptionReader, SeededInitializers, type ArchitectureOptions } from './options.js';

/**
 * Linear (multinomial logistic regression) classifier: flatten, then one dense layer to the logits.
 * The closed-form test bed of adversarial examples (Goodfellow et al. 2015, "Explaining and Harnessing
 * Adversarial Examples": FGSM on a linear model moves x by eps * sign(w)).
 */
export function buildLinear(opts: ArchitectureOptions): tfl.LayersModel {
  const o = new OptionReader('linear', opts, []);
  const init = new SeededInitializers(o.seed);
  return tfl.sequential({
    name: 'linear',
    layers: [
      tfl.layers.flatten({ inputShape: o.inputShape, name: 'flatten' }),
      tfl.layers.dense({ units: o.numClasses, kernelInitializer: init.dense(), name: 'logits' }),
    ],
  });
}
