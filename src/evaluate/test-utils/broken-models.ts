import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initNodeBackend } from '../../engine/node-backend.js';
import { Classifier } from '../../models/classifier.js';
import { loadClassifier } from '../../models/node/load-classifier.js';
import { bundledModelDir } from '../../models/node/package-root.js';
import { Rng } from '../../util/rng.js';

/**
 * Models that break an evaluation in the ways the sanity checks look for (Carlini et al. 2019, "On Evaluating
 * Adversarial Robustness", section 4; Croce & Hein 2020's checks): each wraps a trained network between a
 * custom input layer and/or a final softmax, so that it still classifies well but misleads gradient attacks.
 */
export type BrokenModelKind = 'softmax' | 'quantized' | 'noisy';

/** Options of the input steps; the defaults keep the bundled MNIST CNN's accuracy. */
export interface BrokenModelOptions {
  /** 'quantized': grey levels of the input rounding (256: MNIST's own 8 bits, so clean inputs are unchanged). */
  levels?: number;
  /** 'noisy': standard deviation of the Gaussian noise added to every input on every pass. */
  sigma?: number;
  /** 'noisy': seed of the noise stream (each pass draws new noise from it). */
  seed?: number;
}

/**
 * Rounds inputs to `levels` evenly spaced values of [0, 1]. The forward pass barely changes, but round() has a
 * zero derivative everywhere: the input gradient vanishes (a shattered gradient, Athalye et al. 2018).
 */
class QuantizeInput extends tfl.layers.Layer {
  static readonly className = 'AdvkitQuantizeInput';
  private readonly steps: number;

  constructor(inputShape: number[], levels: number) {
    super({ inputShape });
    this.steps = levels - 1;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => tf.div(tf.round(tf.mul(x, this.steps)), this.steps));
  }
}

/** Adds fresh Gaussian noise to the inputs on every pass, in inference too: a randomized defense. */
class NoisyInput extends tfl.layers.Layer {
  static readonly className = 'AdvkitNoisyInput';
  private readonly sigma: number;
  private readonly rng: Rng;

  constructor(inputShape: number[], sigma: number, seed: number) {
    super({ inputShape });
    this.sigma = sigma;
    this.rng = new Rng(seed);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() =>
      tf.add(x, tf.randomNormal(x.shape, 0, this.sigma, 'float32', this.rng.int(2 ** 31))),
    );
  }
}

/**
 * A new Classifier whose network is `base`'s LayersModel with the broken step added: 'softmax' appends a
 * softmax (probabilities instead of logits), 'quantized' and 'noisy' put QuantizeInput / NoisyInput in front.
 * The result takes over `base`'s network: dispose the result, not `base`.
 */
export function breakClassifier(
  base: Classifier,
  kind: BrokenModelKind,
  opts: BrokenModelOptions = {},
): Classifier {
  const net = base.net;
  if (!(net instanceof tfl.LayersModel)) throw new Error('breakClassifier needs a layers model.');
  const shape = [...base.inputShape];
  const layers: tfl.layers.Layer[] =
    kind === 'softmax'
      ? [tfl.layers.inputLayer({ inputShape: shape }), net, tfl.layers.softmax()]
      : kind === 'quantized'
        ? [new QuantizeInput(shape, opts.levels ?? 256), net]
        : [new NoisyInput(shape, opts.sigma ?? 0.1, opts.seed ?? 0), net];
  return new Classifier(tfl.sequential({ layers }), {
    ...base.metadata,
    architecture: `${base.metadata.architecture}+${kind}`,
  });
}

/** The bundled standard MNIST CNN ('mnist-cnn') broken as `kind`, on wasm. */
export async function loadBrokenMnist(
  kind: BrokenModelKind,
  opts: BrokenModelOptions = {},
): Promise<Classifier> {
  await initNodeBackend({ backend: 'wasm' });
  return breakClassifier(await loadClassifier(bundledModelDir('mnist-cnn')), kind, opts);
}
