import * as tf from '@tensorflow/tfjs-core';
import type { ImageDataset } from '../data/dataset.js';
import {
  activationOf,
  binaryActivationDetector,
  binaryInputDetector,
  unitInputs,
  type ActivationFeatures,
} from '../defend/detectors/binary-detector.js';
import type { Detector } from '../defend/detectors/detector.js';
import { AdvkitError, invalidArgument } from '../errors.js';
import type { Classifier } from '../models/classifier.js';
import { createClassifier } from '../models/create-classifier.js';
import type { Model } from '../models/model.js';
import { evaluateAccuracy } from '../train/evaluate.js';
import { train, type TrainProgress } from '../train/train.js';

/** What a binary detector is trained on: the guarded model's inputs, or one of its activations. */
export type BinaryDetectorKind = 'input' | 'activation';

/** The detector network: a one-hidden-layer MLP (ART's examples use a small network; this one trains in seconds). */
const HIDDEN = [256];

export interface TrainBinaryDetectorOptions {
  kind: BinaryDetectorKind;
  /** Clean inputs of the model and adversarial versions of them, [m, h, w, c] each (the caller keeps them). */
  clean: tf.Tensor4D;
  adversarial: tf.Tensor4D;
  /** binary-activation: the layer (default: the model's last 4-D activation). */
  layer?: string;
  epochs: number;
  seed: number;
  batchSize: number;
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
}

export interface TrainedBinaryDetector {
  detector: Detector;
  /** The detector network (the caller disposes it). */
  net: Classifier;
  /** Accuracy on its own training set (clean 0, adversarial 1), as a check that it learned something. */
  trainAccuracy: number;
  /** binary-activation: the layer read and the scale of its activation. */
  features?: { layer: string; shape: [number, number, number]; scale: number };
  seconds: number;
}

/**
 * A learned binary detector (Metzen et al. 2017; IBM ART's BinaryInputDetector and BinaryActivationDetector)
 * trained with advkit's own training loop on clean (label 0) and adversarial (label 1) versions of the same
 * images. The features become bytes as advkit's training reads them: inputs mapped from the model's bounds
 * onto [0, 1], or the activation divided by its largest value on these images.
 */
export async function trainBinaryDetector(
  model: Model,
  opts: TrainBinaryDetectorOptions,
): Promise<TrainedBinaryDetector> {
  const started = performance.now();
  const m = opts.clean.shape[0];
  if (opts.adversarial.shape[0] !== m || m === 0) {
    throw invalidArgument(
      `binary detector: ${m} clean and ${opts.adversarial.shape[0]} adversarial images; give the same number (> 0).`,
    );
  }
  let features: ActivationFeatures | undefined;
  let cleanF: tf.Tensor4D;
  let advF: tf.Tensor4D;
  if (opts.kind === 'input') {
    cleanF = unitInputs(model, opts.clean);
    advF = unitInputs(model, opts.adversarial);
  } else {
    const access = model.activations;
    if (access === undefined) {
      throw invalidArgument(
        'binary-activation: this model does not expose its intermediate activations; use binary-input or feature-squeezing.',
        { option: 'detector' },
      );
    }
    const layer = opts.layer !== undefined ? access.layer(opts.layer) : access.defaultLayer();
    if (layer === undefined) {
      throw invalidArgument(
        'binary-activation: the model has no 4-D activation to read (it has no convolutional feature maps); use binary-input.',
        { option: 'detector' },
      );
    }
    const raw = [
      await batchedActivation(model, opts.clean, layer.name, opts.batchSize),
      await batchedActivation(model, opts.adversarial, layer.name, opts.batchSize),
    ];
    const peak = Math.max(...raw.map((a) => tf.tidy(() => tf.max(a).dataSync()[0])));
    features = { layer, scale: peak > 0 ? peak : 1 };
    const scale = features.scale;
    [cleanF, advF] = raw.map((a) => tf.tidy(() => tf.div(a, scale) as tf.Tensor4D));
    tf.dispose(raw);
  }
  const data = tf.tidy(() => bytesOf(tf.concat([cleanF, advF], 0)));
  tf.dispose([cleanF, advF]);
  const [height, width, channels] = features?.layer.shape ?? model.inputShape;
  const labels = new Int32Array(2 * m);
  labels.fill(1, m);
  const dataset: ImageDataset = {
    name: `${opts.kind}-detector`,
    split: 'train',
    height,
    width,
    channels,
    count: 2 * m,
    pixels: data,
    labels,
    classNames: ['clean', 'adversarial'],
  };
  const net = createClassifier('mlp', {
    inputShape: [height, width, channels],
    classNames: ['clean', 'adversarial'],
    hiddenSizes: HIDDEN,
    seed: opts.seed,
  });
  try {
    const result = await train(
      net,
      dataset,
      { epochs: opts.epochs, batchSize: 64, optimizer: 'adam', lr: 1e-3, seed: opts.seed },
      { signal: opts.signal, onProgress: opts.onProgress },
    );
    if (!result.completed) throw new AdvkitError('ABORTED', 'Training the binary detector was cancelled.');
    const trainAccuracy = await evaluateAccuracy(net, dataset);
    const detector =
      features === undefined
        ? binaryInputDetector(model, net)
        : binaryActivationDetector(model, net, features);
    return {
      detector,
      net,
      trainAccuracy,
      ...(features !== undefined
        ? { features: { layer: features.layer.name, shape: features.layer.shape, scale: features.scale } }
        : {}),
      seconds: (performance.now() - started) / 1000,
    };
  } catch (err) {
    net.dispose();
    throw err;
  }
}

/** Values in [0, 1] as bytes 0..255 (rounded), as advkit's datasets hold pixels. */
function bytesOf(unit: tf.Tensor): Uint8Array {
  const values = tf.tidy(() => tf.round(tf.mul(tf.clipByValue(unit, 0, 1), 255)));
  const bytes = Uint8Array.from(values.dataSync());
  values.dispose();
  return bytes;
}

/** The activation at `layer` of every input, in batches. */
async function batchedActivation(
  model: Model,
  x: tf.Tensor4D,
  layer: string,
  batchSize: number,
): Promise<tf.Tensor4D> {
  const parts: tf.Tensor4D[] = [];
  for (let start = 0; start < x.shape[0]; start += batchSize) {
    const size = Math.min(batchSize, x.shape[0] - start);
    const xb = tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1]);
    parts.push(activationOf(model, xb, layer));
    xb.dispose();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  const all = tf.concat(parts, 0);
  tf.dispose(parts);
  return all;
}
