import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initNodeBackend } from '../../backend/node-backend.js';
import { Classifier } from '../../models/classifier.js';
import { loadClassifier } from '../../models/node/load-classifier.js';
import { bundledModelDir } from '../../models/node/package-root.js';
import { Rng } from '../../util/rng.js';

/**
 * Models that break an evaluation in the ways the sanity checks look for (Carlini et al. 2019, "On Evaluating
 * Adversarial Robustness", section 4; Croce & Hein 2020's checks): each wraps a trained network between a
 * custom input layer and/or a final softmax, so that it still classifies well but misleads gradient attacks.
 */
export type BrokenModelKind = 'softmax' | 'quantized' | 'sqrt' | 'noisy';

/** Options of the input steps; the defaults keep the bundled MNIST CNN's accuracy. */
export interface BrokenModelOptions {
  /** 'quantized': grey levels of the input rounding (256: MNIST's own 8 bits, so clean inputs are unchanged). */
  levels?: number;
  /** 'noisy': standard deviation of the Gaussian noise added to every input on every pass. */
  sigma?: number;
  /** 'noisy': seed of the noise stream (each pass draws new noise from it). */
  seed?: number;
}

/** A parameter-free layer that applies `step` to its input, in training and inference alike. */
class InputStep extends tfl.layers.Layer {
  static readonly className = 'AdvkitInputStep';
  private readonly step: (x: tf.Tensor) => tf.Tensor;

  constructor(inputShape: number[], step: (x: tf.Tensor) => tf.Tensor) {
    super({ inputShape });
    this.step = step;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => this.step(x));
  }
}

/**
 * The broken input steps. 'quantized' rounds inputs to `levels` evenly spaced values of [0, 1]: the forward pass
 * barely changes, but round() has a zero derivative everywhere, so the input gradient vanishes (a shattered
 * gradient, Athalye et al. 2018). 'sqrt' feeds sqrt(x): its derivative is infinite at 0 (every black pixel),
 * so input gradients are non-finite. 'noisy' adds fresh Gaussian noise on every pass, in inference too: a
 * randomized defense.
 */
function inputStep(
  kind: 'quantized' | 'sqrt' | 'noisy',
  opts: BrokenModelOptions,
): (x: tf.Tensor) => tf.Tensor {
  if (kind === 'quantized') {
    const steps = (opts.levels ?? 256) - 1;
    return (x) => tf.div(tf.round(tf.mul(x, steps)), steps);
  }
  if (kind === 'sqrt') return (x) => tf.sqrt(x);
  const rng = new Rng(opts.seed ?? 0);
  const sigma = opts.sigma ?? 0.1;
  return (x) => tf.add(x, tf.randomNormal(x.shape, 0, sigma, 'float32', rng.int(2 ** 31)));
}

/**
 * A new Classifier whose network is `base`'s LayersModel with the broken step added: 'softmax' appends a
 * softmax (probabilities instead of logits); the other kinds put their input step (see inputStep) in front.
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
      : [new InputStep(shape, inputStep(kind, opts)), net];
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
  await initNodeBackend();
  return breakClassifier(await loadClassifier(bundledModelDir('mnist-cnn')), kind, opts);
}
