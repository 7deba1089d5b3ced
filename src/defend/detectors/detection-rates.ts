import type * as tf from '@tensorflow/tfjs-core';
import { predictClasses } from '../../attacks/predict-classes.js';
import { invalidArgument } from '../../errors.js';
import { detectorScores, type Detector } from './detector.js';

/** How a detector fares against one set of adversarial inputs, at its threshold. */
export interface DetectionRates {
  /** Points attacked: those the classifier gets right when clean (the others need no attack). */
  points: number;
  /** Of those, the fraction the attack made misclassified. */
  attackSuccess: number;
  /** Of the misclassified adversarial inputs, the fraction the detector flags (NaN, null in JSON, when none). */
  detectionRate: number;
  /** Of the points, the fraction misclassified and not flagged: what gets past the classifier and the detector. */
  undetectedAdversarial: number;
  /** Of the points, the fraction flagged whatever their class (attack success not required). */
  flagged: number;
  /** Rows of the inputs that got past: misclassified and not flagged (for the worst case over attacks). */
  escaped: number[];
}

export interface DetectionRatesOptions {
  /** Clean inputs' labels, one per row of `adversarial`. */
  labels: ArrayLike<number>;
  /** The classifier's class of each clean input (the points it gets right are the ones counted). */
  cleanPredictions: ArrayLike<number>;
  threshold: number;
  batchSize?: number;
  signal?: AbortSignal;
}

/**
 * Detection rate at a threshold, as Carlini & Wagner 2017 and Xu et al. 2018 report it: among the points the
 * classifier gets right, the attack's success rate, the fraction of successful adversarial inputs the
 * detector flags, and the fraction that are misclassified and unflagged (the attacker's real success).
 */
export async function detectionRates(
  detector: Detector,
  adversarial: tf.Tensor4D,
  opts: DetectionRatesOptions,
): Promise<DetectionRates> {
  const n = adversarial.shape[0];
  if (opts.labels.length !== n || opts.cleanPredictions.length !== n) {
    throw invalidArgument(
      `detection rates: ${n} adversarial inputs but ${opts.labels.length} labels and ${opts.cleanPredictions.length} clean predictions.`,
    );
  }
  const batchSize = opts.batchSize ?? 128;
  const predictions = await predictClasses(detector.model, adversarial, { batchSize, signal: opts.signal });
  const scores = await detectorScores(detector, adversarial, { batchSize, signal: opts.signal });
  let points = 0;
  let fooled = 0;
  let caught = 0;
  let flagged = 0;
  const escaped: number[] = [];
  for (let i = 0; i < n; i++) {
    if (opts.cleanPredictions[i] !== opts.labels[i]) continue;
    points++;
    const detected = scores[i] > opts.threshold;
    if (detected) flagged++;
    if (predictions[i] !== opts.labels[i]) {
      fooled++;
      if (detected) caught++;
      else escaped.push(i);
    }
  }
  const rate = (k: number, of: number): number => (of === 0 ? Number.NaN : k / of);
  return {
    points,
    attackSuccess: rate(fooled, points),
    detectionRate: rate(caught, fooled),
    undetectedAdversarial: rate(fooled - caught, points),
    flagged: rate(flagged, points),
    escaped,
  };
}
