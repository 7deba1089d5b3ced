import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../../errors.js';
import type { Model } from '../../models/model.js';
import { OPTIMIZER_NAMES, type OptimizerName } from '../../optim/optimizers.js';
import { checkShape } from './apply-patch.js';
import { checkRange, type PatchShape } from './placement.js';

/** How `trainPatch` trains; every field but `target` has the default documented on trainPatch. */
export interface PatchTrainingOptions {
  /** The class the patch should make the model predict. */
  target: number;
  /** The patch's side as a fraction of the image's (shorter) side, in (0, 1]: 0.3 covers 9% of the area as a square. */
  size?: number;
  steps?: number;
  batchSize?: number;
  /** 'sgd' (plain gradient descent, as the authors' code) or 'adam'. */
  optimizer?: OptimizerName;
  learningRate?: number;
  /** Per placement, the patch's side is multiplied by a factor drawn from [min, max]. */
  scaleRange?: readonly [number, number];
  /** Per placement, a rotation drawn from [-maxRotation, maxRotation] degrees. */
  maxRotation?: number;
  shape?: PatchShape;
  seed?: number;
}

export type ResolvedPatchTraining = Required<PatchTrainingOptions>;

/** Defaults: the paper's transformations (rotation up to 22.5 degrees, disc patches) and the authors' batch of 16. */
export const PATCH_TRAINING_DEFAULTS: Omit<ResolvedPatchTraining, 'target'> = {
  size: 0.3,
  steps: 500,
  batchSize: 16,
  optimizer: 'adam',
  learningRate: 0.05,
  scaleRange: [0.8, 1.2],
  maxRotation: 22.5,
  shape: 'circle',
  seed: 0,
};

/** Checks every option against the model's class count and fills in the defaults (INVALID_ARGUMENT naming the option). */
export function resolvePatchTraining(o: PatchTrainingOptions, numClasses: number): ResolvedPatchTraining {
  const d = PATCH_TRAINING_DEFAULTS;
  const r: ResolvedPatchTraining = {
    target: checkTarget(o.target, numClasses),
    size: checkNumber(
      'size',
      o.size ?? d.size,
      (v) => v > 0 && v <= 1,
      'a fraction of the image side in (0, 1]',
    ),
    steps: checkNumber('steps', o.steps ?? d.steps, isPositiveInteger, 'an integer >= 1'),
    batchSize: checkNumber('batchSize', o.batchSize ?? d.batchSize, isPositiveInteger, 'an integer >= 1'),
    optimizer: o.optimizer ?? d.optimizer,
    learningRate: checkNumber('learningRate', o.learningRate ?? d.learningRate, (v) => v > 0, 'a number > 0'),
    scaleRange: checkRange(o.scaleRange ?? d.scaleRange, 'scaleRange', (v) => v > 0, 'a number > 0'),
    maxRotation: checkNumber(
      'maxRotation',
      o.maxRotation ?? d.maxRotation,
      (v) => v >= 0 && v <= 180,
      'degrees in [0, 180]',
    ),
    shape: checkShape(o.shape ?? d.shape),
    seed: checkNumber('seed', o.seed ?? d.seed, Number.isInteger, 'an integer'),
  };
  if (!OPTIMIZER_NAMES.includes(r.optimizer)) {
    throw invalidArgument(
      `optimizer must be one of ${OPTIMIZER_NAMES.join(', ')}; got ${JSON.stringify(r.optimizer)}.`,
    );
  }
  return r;
}

export function checkTarget(target: number, numClasses: number): number {
  if (!Number.isInteger(target) || target < 0 || target >= numClasses) {
    throw invalidArgument(
      `target must be a class index from 0 to ${numClasses - 1}, got ${JSON.stringify(target)}.`,
    );
  }
  return target;
}

export function checkNumber(
  name: string,
  value: number,
  valid: (v: number) => boolean,
  expected: string,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !valid(value)) {
    throw invalidArgument(`${name} must be ${expected}, got ${JSON.stringify(value)}.`);
  }
  return value;
}

export function isPositiveInteger(v: number): boolean {
  return Number.isInteger(v) && v >= 1;
}

/** Images must be a non-empty batch of the model's input shape, within its bounds. */
export function checkImages(classifier: Model, images: tf.Tensor4D): void {
  const [h, w, c] = classifier.inputShape;
  if (images.rank !== 4 || images.shape[1] !== h || images.shape[2] !== w || images.shape[3] !== c) {
    throw invalidArgument(
      `images must have shape [n, ${h}, ${w}, ${c}] for this model, got [${images.shape.join(', ')}].`,
    );
  }
  if (images.shape[0] === 0) throw invalidArgument('images holds no examples.');
  const [lo, hi] = classifier.bounds;
  const range = tf.tidy(() => tf.stack([tf.min(images), tf.max(images)]));
  const [min, max] = range.dataSync();
  range.dispose();
  if (min < lo - 1e-6 || max > hi + 1e-6) {
    throw invalidArgument(
      `images have values in [${min}, ${max}] but the model's bounds are [${lo}, ${hi}]: scale them into the bounds.`,
    );
  }
}
