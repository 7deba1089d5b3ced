import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../../errors.js';
import type { Model } from '../../models/model.js';
import { parseDefense } from '../transforms/parse-defense.js';
import type { Transform } from '../transforms/transform.js';
import { checkInputs, type Detector } from './detector.js';

/**
 * The squeezers of Xu et al. for grey-scale and colour images, as advkit's transforms: MNIST 1-bit depth and a
 * 2x2 median, CIFAR-10 5-bit depth and a 2x2 median (with non-local means, which advkit does not have). advkit's
 * median filter has an odd, centred window, so 3x3 stands in for the paper's 2x2.
 */
export const DEFAULT_SQUEEZERS = { grey: 'bits:1,median:3', colour: 'bits:5,median:3' } as const;

/** The default squeezer list for a model: by its channel count. */
export function defaultSqueezers(model: Model): string {
  return model.inputShape[2] === 1 ? DEFAULT_SQUEEZERS.grey : DEFAULT_SQUEEZERS.colour;
}

/**
 * Squeezers from a list such as 'bits:1,median:3': each entry is one squeezer (not a chain), parsed by the
 * defense parser, so the names and ranges are the input-transform defenses' own. Random transforms are
 * refused: the score must be a function of the input.
 */
export function parseSqueezers(spec: string): Transform[] {
  const squeezers = parseDefense(spec);
  if (squeezers.length === 0) {
    throw invalidArgument(
      `feature squeezing needs at least one squeezer, e.g. '${DEFAULT_SQUEEZERS.grey}'; got '${spec}'.`,
      { option: 'squeezers' },
    );
  }
  const random = squeezers.filter((s) => s.random);
  if (random.length > 0) {
    throw invalidArgument(
      `feature squeezing needs deterministic squeezers; ${random.map((s) => s.spec).join(', ')} ` +
        'is random. Use bits, median, blur, jpeg or tv.',
      { option: 'squeezers' },
    );
  }
  return squeezers;
}

/**
 * Feature squeezing (Xu, Evans & Qi 2018, "Feature Squeezing: Detecting Adversarial Examples in Deep Neural
 * Networks", NDSS, Section 5): the score of x is the largest L1 distance between the model's softmax on x and
 * on a squeezed copy of x, max_i ||softmax(f(x)) - softmax(f(squeeze_i(x)))||_1, over the squeezers (bit-depth
 * reduction and median smoothing, defend/transforms). A clean image keeps its prediction when squeezed; an
 * adversarial perturbation tuned to the model is often undone. The threshold is the score that flags 5% of
 * held-out clean images (`thresholdAtFpr`). The squeezers' backward passes are BPDA's identity (Athalye et al.
 * 2018), so the score has a gradient an adaptive attacker can use (He et al. 2017 break the joint detector so).
 *
 * @example featureSqueezing(model, parseSqueezers('bits:1,median:3'))
 */
export function featureSqueezing(model: Model, squeezers: readonly Transform[]): Detector {
  if (squeezers.length === 0) {
    throw invalidArgument('feature squeezing needs at least one squeezer (e.g. bits:1 and median:3).');
  }
  const ctx = { bounds: model.bounds };
  return {
    name: 'feature-squeezing',
    model,
    score(x) {
      checkInputs('feature squeezing', model, x);
      return tf.tidy(() => {
        const p = tf.softmax(model.logits(x));
        const distances = squeezers.map((s) =>
          tf.sum(tf.abs(tf.sub(p, tf.softmax(model.logits(s.apply(x, ctx))))), 1),
        );
        return tf.max(tf.stack(distances, 1), 1) as tf.Tensor1D;
      });
    },
  };
}
