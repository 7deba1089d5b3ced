import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError, invalidArgument } from '../../errors.js';
import type { Model } from '../../models/model.js';

/**
 * An adversarial-example detector: a score per input, higher meaning "more likely adversarial", and a threshold
 * above which an input is flagged. The score is a tensor function of the input so that an adaptive attacker can
 * differentiate through it (BPDA where a step has no gradient): a detector is only evaluated honestly against
 * an attack that knows it (Carlini & Wagner 2017, "Adversarial Examples Are Not Easily Detected: Bypassing Ten
 * Detection Methods"; He, Wei, Chen, Carlini & Song 2017, "Adversarial Example Defenses: Ensembles of Weak
 * Defenses are not Strong").
 */
export interface Detector {
  /** 'feature-squeezing', 'binary-input', 'binary-activation'. */
  readonly name: string;
  /** The classifier it guards (inputs are this model's: its shape and bounds). */
  readonly model: Model;
  /** Scores [n] of a batch [n, h, w, c] (differentiable in x); the caller disposes the result. */
  score(x: tf.Tensor4D): tf.Tensor1D;
}

/** Options of the batched score readers. */
export interface ScoreOptions {
  /** Inputs per forward pass (default 128). */
  batchSize?: number;
  signal?: AbortSignal;
}

/** The detector's scores of a whole set of inputs, in batches, read back to the CPU. */
export async function detectorScores(
  detector: Detector,
  x: tf.Tensor4D,
  opts: ScoreOptions = {},
): Promise<Float32Array> {
  const batchSize = opts.batchSize ?? 128;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw invalidArgument(`detector scores: batchSize must be an integer >= 1, got ${batchSize}.`);
  }
  const n = x.shape[0];
  const out = new Float32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    if (opts.signal?.aborted === true) throw new AdvkitError('ABORTED', 'Scoring was cancelled.');
    const size = Math.min(batchSize, n - start);
    const scores = tf.tidy(() => detector.score(tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1])));
    out.set(await scores.data(), start);
    scores.dispose();
    // Lets timers and Ctrl-C run between batches.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return out;
}

/**
 * The threshold that flags at most a fraction `fpr` of clean inputs (flagged: score > threshold): the
 * (1 - fpr) empirical quantile of the clean scores, so that floor(fpr * m) of m clean scores lie above it.
 * Fit it on one set of clean inputs and measure the false-positive rate on another (`flagRate`): on held-out
 * inputs it is fpr only in expectation.
 */
export function thresholdAtFpr(cleanScores: ArrayLike<number>, fpr: number): number {
  if (!Number.isFinite(fpr) || fpr <= 0 || fpr >= 1) {
    throw invalidArgument(`fpr (false-positive rate) must be a number in (0, 1), e.g. 0.05; got ${fpr}.`, {
      option: 'fpr',
    });
  }
  const m = cleanScores.length;
  if (m === 0) throw invalidArgument('A threshold needs at least one clean score; got none.');
  const sorted = Float64Array.from(cleanScores).sort();
  if (!Number.isFinite(sorted[0]) || !Number.isFinite(sorted[m - 1])) {
    throw new AdvkitError(
      'CORRUPT_DATA',
      'The clean scores are not all finite: the model or the detector outputs NaN or Infinity.',
    );
  }
  const allowed = Math.floor(fpr * m);
  return sorted[m - 1 - allowed];
}

/** The fraction of scores above the threshold (the false-positive rate on clean inputs); 0 for none. */
export function flagRate(scores: ArrayLike<number>, threshold: number): number {
  if (scores.length === 0) return 0;
  let flagged = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i] > threshold) flagged++;
  return flagged / scores.length;
}

/** INVALID_ARGUMENT unless x is a batch of inputs of `model` (its [h, w, c]). */
export function checkInputs(owner: string, model: Model, x: tf.Tensor): void {
  const [h, w, c] = model.inputShape;
  if (x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c) {
    throw invalidArgument(
      `${owner}: expected a batch of inputs [n, ${h}, ${w}, ${c}], got shape [${x.shape.join(', ')}].`,
    );
  }
}
