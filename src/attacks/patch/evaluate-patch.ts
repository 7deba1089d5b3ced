import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../../errors.js';
import type { Model } from '../../models/model.js';
import { Rng } from '../../util/rng.js';
import { throwIfAborted } from '../attack-context.js';
import { checkPatchFits, checkShape, pasteAt } from './apply-patch.js';
import { checkImages, checkNumber, checkTarget, isPositiveInteger } from './patch-options.js';
import { checkRange, drawPlacements, type PatchShape, type ValueOrRange } from './placement.js';

export interface EvaluatePatchOptions {
  target: number;
  /** Random placements per image (default 1). */
  trials?: number;
  /** Multiplies the patch's side (default 1: the size it was trained at); a [min, max] range is drawn per trial. */
  scale?: ValueOrRange;
  /** Degrees, or a range drawn per trial (default [-22.5, 22.5], the training default). */
  rotation?: ValueOrRange;
  /** Use the shape the patch was trained with (default 'circle', trainPatch's default). */
  shape?: PatchShape;
  /** Default 0. */
  seed?: number;
  /** Images per forward pass (default 64). */
  batchSize?: number;
  signal?: AbortSignal;
}

export interface PatchEvaluation {
  target: number;
  /** successes / attempts: the fraction of patched held-out images predicted as the target. */
  successRate: number;
  successes: number;
  /** evaluated * trials. */
  attempts: number;
  /** Images whose true label is not the target (the others are left out: they need no patch). */
  evaluated: number;
  excluded: number;
  /** Fraction of the evaluated images the model already predicts as the target without the patch. */
  cleanTargetRate: number;
  /** Forward passes, per image. */
  queries: number;
}

/**
 * The success rate of a patch on held-out images (Brown et al. 2017, sec. 3): the fraction of (image, random
 * placement) pairs that the model classifies as the target, over images whose true label is not the target.
 * Placements are uniform over the positions where the patch lies inside the image, with the given scale and
 * rotation; the same seed gives the same placements.
 */
export async function evaluatePatch(
  classifier: Model,
  patch: tf.Tensor3D,
  images: tf.Tensor4D,
  labels: ArrayLike<number> | tf.Tensor1D,
  options: EvaluatePatchOptions,
): Promise<PatchEvaluation> {
  const target = checkTarget(options.target, classifier.numClasses);
  const trials = checkNumber('trials', options.trials ?? 1, isPositiveInteger, 'an integer >= 1');
  const batchSize = checkNumber('batchSize', options.batchSize ?? 64, isPositiveInteger, 'an integer >= 1');
  const seed = checkNumber('seed', options.seed ?? 0, Number.isInteger, 'an integer');
  const shape = checkShape(options.shape ?? 'circle');
  const scale = checkRange(options.scale ?? 1, 'scale', (v) => v > 0, 'a number > 0');
  const rotation = checkRange(
    options.rotation ?? [-22.5, 22.5],
    'rotation',
    (v) => Math.abs(v) <= 360,
    'degrees',
  );
  checkImages(classifier, images);
  checkPatchFits(images, patch);
  const truth = labels instanceof tf.Tensor ? labels.dataSync() : labels;
  if (truth.length !== images.shape[0]) {
    throw invalidArgument(`labels has ${truth.length} entries for ${images.shape[0]} images.`);
  }
  const keep: number[] = [];
  for (let i = 0; i < truth.length; i++) if (truth[i] !== target) keep.push(i);
  const rng = new Rng(seed);
  const [, h, w] = images.shape;
  let successes = 0;
  let cleanHits = 0;
  let queries = 0;
  for (let start = 0; start < keep.length; start += batchSize) {
    const rows = tf.tensor1d(keep.slice(start, start + batchSize), 'int32');
    const batch = tf.gather(images, rows);
    rows.dispose();
    try {
      cleanHits += countTarget(classifier.logits(batch), target);
      queries += batch.shape[0];
      for (let t = 0; t < trials; t++) {
        throwIfAborted(options.signal);
        const placements = drawPlacements(
          batch.shape[0],
          { height: h, width: w },
          patch.shape[0],
          { scale, rotation },
          rng,
        );
        const patched = pasteAt(batch, patch, placements, shape);
        const clipped = tf.clipByValue(patched, ...classifier.bounds);
        patched.dispose();
        successes += countTarget(classifier.logits(clipped), target);
        clipped.dispose();
        queries += batch.shape[0];
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
      }
    } finally {
      batch.dispose();
    }
  }
  const attempts = keep.length * trials;
  return {
    target,
    successRate: attempts === 0 ? 0 : successes / attempts,
    successes,
    attempts,
    evaluated: keep.length,
    excluded: truth.length - keep.length,
    cleanTargetRate: keep.length === 0 ? 0 : cleanHits / keep.length,
    queries,
  };
}

/** Rows of `logits` whose arg-max is `target`; disposes `logits`. */
function countTarget(logits: tf.Tensor2D, target: number): number {
  const pred = tf.argMax(logits, 1);
  logits.dispose();
  const p = pred.dataSync();
  pred.dispose();
  let hits = 0;
  for (let i = 0; i < p.length; i++) hits += Number(p[i] === target);
  return hits;
}
