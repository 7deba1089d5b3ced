import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError } from '../../errors.js';
import { mixSeed, withSeededMathRandom } from '../../util/seeded-math-random.js';
import type { Classifier } from '../../models/classifier.js';
import type { Rng } from '../../util/rng.js';
import { crossEntropyFromLogits } from '../loss.js';

/** One micro-batch of an optimizer step: the (augmented) images, their labels, and its share of the step. */
export interface MicroBatch {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  labels: Int32Array;
  /** Position of its first image within the step's images. */
  offset: number;
  /** Its images / the step's images: the weight of its mean loss in the step's gradient. */
  weight: number;
}

/** What changes from step to step. */
export interface StepSettings {
  /** The budget of this step (eps warm-up). */
  eps: number;
  /** Random choices of this step's inner maximisation (null for standard training). */
  rng: Rng | null;
  /** Free AT: which replay of the batch this step is (0 for the other methods). */
  replay: number;
  /** Seeds the training-mode random ops (dropout masks) of this optimizer step; see withSeededMathRandom. */
  dropoutSeed: number;
}

/**
 * Per-micro-batch sums, in this order: objective, correct (of the images the objective trains on: clean for
 * standard training, adversarial otherwise), clean loss, clean correct, clean count, adversarial loss,
 * adversarial correct, adversarial count. Losses are cross-entropies (label-smoothed as in training).
 */
export const STAT_FIELDS = [
  'objective',
  'correct',
  'cleanLoss',
  'cleanCorrect',
  'cleanCount',
  'adversarialLoss',
  'adversarialCorrect',
  'adversarialCount',
] as const;
export type StepStats = Record<(typeof STAT_FIELDS)[number], number>;

export interface MicroOutcome {
  /** Gradients of the weighted micro-batch loss, one per trainable variable (caller disposes). */
  grads: tf.Tensor[];
  /** STAT_FIELDS sums (caller disposes). */
  stats: tf.Tensor1D;
}

/** How a training step turns a micro-batch into weight gradients: standard, or one adversarial method. */
export interface TrainingMethod {
  micro(batch: MicroBatch, step: StepSettings): Promise<MicroOutcome>;
  /** Arrays carried from step to step (Free AT's perturbation), saved in checkpoints. */
  state(): Promise<Record<string, Float32Array[]>>;
  restore(state: Record<string, Float32Array[]>): void;
  dispose(): void;
}

export interface MethodSetup {
  classifier: Classifier;
  variables: tf.Variable[];
  labelSmoothing: number;
  /** Images per optimizer step (Free AT's perturbation covers them all). */
  imagesPerStep: number;
}

/**
 * Runs `weightPass` inside variableGrads and returns its gradients and its (kept) stats vector. Dropout masks
 * in the pass come from `dropoutSeed` (the step's seed mixed with the micro-batch's offset).
 */
export function weightGradients(
  variables: tf.Variable[],
  b: Pick<MicroBatch, 'weight' | 'offset'>,
  step: Pick<StepSettings, 'dropoutSeed'>,
  weightPass: () => { loss: tf.Scalar; stats: tf.Tensor1D },
): MicroOutcome {
  return tf.tidy(() => {
    let stats: tf.Tensor1D | undefined;
    const { grads } = withSeededMathRandom(mixSeed(step.dropoutSeed, b.offset), () =>
      tf.variableGrads(() => {
        const pass = weightPass();
        stats = tf.keep(pass.stats);
        return tf.mul(pass.loss, b.weight);
      }, variables),
    );
    if (stats === undefined) throw new AdvkitError('INTERNAL', 'The weight pass did not run.');
    return { grads: variables.map((v) => grads[v.name]), stats };
  });
}

/** [lossSum, correct, count] of logits against labels (cross-entropy label-smoothed as in training). */
export function lossAndHits(logits: tf.Tensor2D, y: tf.Tensor1D, labelSmoothing: number): tf.Tensor1D {
  return tf.tidy(() => {
    const n = logits.shape[0];
    const ce = crossEntropyFromLogits(logits, y, { labelSmoothing });
    const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32'));
    return tf.stack([tf.mul(ce, n), hits, tf.scalar(n)]) as tf.Tensor1D;
  });
}

/** The clean metrics from one inference-mode forward pass (when the training pass does not see clean images). */
export function inferenceLossAndHits(
  classifier: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  labelSmoothing: number,
): tf.Tensor1D {
  return tf.tidy(() => lossAndHits(classifier.logits(x), y, labelSmoothing));
}

/**
 * The STAT_FIELDS vector: the objective's mean over the micro-batch's n images, the [loss, correct, count]
 * triple of the images it trains on (whose correct count is reported as 'correct'), and the clean and
 * adversarial triples (noStats() for a part the step did not measure).
 */
export function statsVector(
  objective: tf.Scalar,
  n: number,
  trained: tf.Tensor1D,
  clean: tf.Tensor1D,
  adversarial: tf.Tensor1D,
): tf.Tensor1D {
  return tf.tidy(() =>
    tf.concat([tf.reshape(tf.mul(objective, n), [1]), tf.slice(trained, [1], [1]), clean, adversarial]),
  );
}

/** A [loss, correct, count] triple of zeros. */
export function noStats(): tf.Tensor1D {
  return tf.zeros([3]);
}

/** Reads summed STAT_FIELDS vectors into numbers. */
export async function readStats(stats: readonly tf.Tensor1D[]): Promise<StepStats> {
  const out = Object.fromEntries(STAT_FIELDS.map((f) => [f, 0])) as StepStats;
  for (const t of stats) {
    const values = await t.data();
    STAT_FIELDS.forEach((f, i) => (out[f] += values[i]));
  }
  return out;
}
