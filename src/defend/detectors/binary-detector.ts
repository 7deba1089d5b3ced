import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError, invalidArgument } from '../../errors.js';
import type { ActivationLayer } from '../../models/layer-access.js';
import type { Model } from '../../models/model.js';
import { checkInputs, type Detector } from './detector.js';

/**
 * Learned binary detectors (as IBM ART's BinaryInputDetector and BinaryActivationDetector; the idea is Metzen,
 * Genewein, Fischer & Bischoff 2017, "On Detecting Adversarial Perturbations", who train a small network on a
 * classifier's activations, and Grosse et al. 2017 / Gong et al. 2017, who train one on the inputs): a
 * two-class network (0 clean, 1 adversarial) on the guarded model's inputs or on one of its intermediate
 * activations. The score is the detector's logit margin z_adversarial - z_clean. Training it (clean vs PGD
 * examples, with advkit's training loop) is the tasks layer's job (tasks/detect-train.ts); these functions only
 * turn a trained network into a `Detector`. Both are differentiable end to end, so an adaptive attacker can
 * fool the classifier and the detector at once (Carlini & Wagner 2017 bypass Metzen et al. this way).
 */

/** A detector network's view of its features: inputs in [0, 1] ([0, 1] is what advkit's training feeds). */
function checkDetectorNet(owner: string, net: Model, shape: readonly number[]): void {
  if (net.numClasses !== 2) {
    throw invalidArgument(
      `${owner}: the detector network must have 2 outputs (clean, adversarial), got ${net.numClasses}.`,
    );
  }
  if (net.inputShape.some((d, i) => d !== shape[i])) {
    throw invalidArgument(
      `${owner}: the detector network takes [${net.inputShape.join(', ')}] inputs, but its features are [${shape.join(', ')}].`,
    );
  }
}

/** z_1 - z_0 of the detector's logits. */
function margin(logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const [clean, adversarial] = tf.split(logits, 2, 1);
    return tf.reshape(tf.sub(adversarial, clean), [-1]);
  });
}

/** The model's inputs mapped from its bounds onto [0, 1], the detector network's input space. */
export function unitInputs(model: Model, x: tf.Tensor4D): tf.Tensor4D {
  const [lo, hi] = model.bounds;
  return tf.tidy(() => tf.div(tf.sub(x, lo), hi - lo));
}

/** A detector on the inputs: `net` (2 classes, the model's input shape, trained on inputs mapped onto [0, 1]). */
export function binaryInputDetector(model: Model, net: Model): Detector {
  checkDetectorNet('binary input detector', net, model.inputShape);
  return {
    name: 'binary-input',
    model,
    score(x) {
      checkInputs('binary input detector', model, x);
      return tf.tidy(() => margin(net.logits(unitInputs(model, x))));
    },
  };
}

/** Where the activation detector reads the model, and how its activations are scaled onto [0, 1]. */
export interface ActivationFeatures {
  /** The layer (Model.activations); its shape is the detector network's input shape. */
  layer: ActivationLayer;
  /**
   * Activations are divided by this: their largest value on the training data, so that the training features
   * fit [0, 1] (bytes, as advkit's training reads them). Not clipped when scoring, to keep the gradient.
   */
  scale: number;
}

/** The 4-D activation at `layer` of a pixel-space batch; differentiable in x; the caller disposes it. */
export function activationOf(model: Model, x: tf.Tensor4D, layer: string): tf.Tensor4D {
  const access = model.activations;
  if (access === undefined) {
    throw invalidArgument(
      "The binary activation detector needs the model's intermediate activations, which this model does not expose; use the binary input detector or feature squeezing.",
    );
  }
  let captured: tf.Tensor4D | undefined;
  const logits = access.logits(x, layer, (a) => {
    // The activation must outlive the model's tidy scope, and the layers executor disposes intermediate
    // outputs once consumed: a kept clone (sharing the data, on the gradient tape) is the caller's.
    captured = tf.keep(tf.clone(a));
    return a;
  });
  logits.dispose();
  if (captured === undefined) throw new AdvkitError('INTERNAL', `Layer '${layer}' was not reached.`);
  return captured;
}

/** The detector network's features: the activation divided by `scale`. */
export function activationFeatures(model: Model, x: tf.Tensor4D, features: ActivationFeatures): tf.Tensor4D {
  const a = activationOf(model, x, features.layer.name);
  try {
    return tf.div(a, features.scale);
  } finally {
    a.dispose();
  }
}

/** A detector on one intermediate activation of `model` (scaled as `features` says) by the network `net`. */
export function binaryActivationDetector(model: Model, net: Model, features: ActivationFeatures): Detector {
  if (!Number.isFinite(features.scale) || features.scale <= 0) {
    throw invalidArgument(`binary activation detector: scale must be a number > 0, got ${features.scale}.`);
  }
  checkDetectorNet('binary activation detector', net, features.layer.shape);
  return {
    name: 'binary-activation',
    model,
    score(x) {
      checkInputs('binary activation detector', model, x);
      const f = activationFeatures(model, x, features);
      try {
        return tf.tidy(() => margin(net.logits(f)));
      } finally {
        f.dispose();
      }
    },
  };
}
