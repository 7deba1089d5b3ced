import * as tf from '@tensorflow/tfjs-core';
import { iterativeAttack } from '../../attacks/iterative.js';
import { classLogit, maxOther } from '../../attacks/losses.js';
import { runAttack } from '../../attacks/run-attack.js';
import { defineAttack, type AttackContext, type Norm } from '../../attacks/types.js';
import { invalidArgument } from '../../errors.js';
import type { Model } from '../../models/model.js';
import { field, type Params } from '../../util/schema.js';
import type { Detector } from './detector.js';

/** The class name of the joint model's last column. */
export const DETECTED_CLASS = 'detected';

/**
 * How the detector's score is compared with its threshold in the joint model: 'linear' is score - threshold
 * (logit margins), 'log' is log(score / threshold), for positive scores that span orders of magnitude (feature
 * squeezing's L1 distance is about 1e-6 on clean images and up to 2 on adversarial ones).
 */
export type DetectorScale = 'linear' | 'log';

/** Keeps log(score) finite for a zero score. */
const LOG_FLOOR = 1e-12;

/**
 * The classifier and its detector as one model (the combined-logits idea of Carlini & Wagner 2017, "Adversarial
 * Examples Are Not Easily Detected: Bypassing Ten Detection Methods", Section 3): its logits are the
 * classifier's N logits followed by one column, weight * (score(x) - threshold) (or weight *
 * log(score(x) / threshold), `scale` 'log'), positive when the detector
 * flags x. Any gradient attack can then see both at once; `adaptiveDetectorAttack` ascends an objective that
 * asks for misclassification and a negative last column together. Not for classification: argmax over the
 * N + 1 columns is not the classifier's class.
 */
export function jointModel(
  detector: Detector,
  threshold: number,
  weight: number,
  scale: DetectorScale = 'linear',
): Model {
  if (!Number.isFinite(threshold))
    throw invalidArgument(`joint model: threshold must be finite, got ${threshold}.`);
  if (scale === 'log' && threshold <= 0) {
    throw invalidArgument(`joint model: a log scale needs a threshold > 0, got ${threshold}.`);
  }
  if (!Number.isFinite(weight) || weight <= 0) {
    throw invalidArgument(`joint model: weight must be a number > 0, got ${weight}.`);
  }
  const model = detector.model;
  return {
    inputShape: model.inputShape,
    bounds: model.bounds,
    classNames: [...model.classNames, DETECTED_CLASS],
    numClasses: model.numClasses + 1,
    logits(x) {
      return tf.tidy(() => {
        const z = model.logits(x);
        const s = detector.score(x);
        const above =
          scale === 'log' ? tf.sub(tf.log(tf.add(s, LOG_FLOOR)), Math.log(threshold)) : tf.sub(s, threshold);
        const d = tf.mul(above, weight);
        return tf.concat([z, tf.reshape(d, [-1, 1])], 1) as tf.Tensor2D;
      });
    },
    predict(x) {
      return tf.tidy(() => tf.softmax(this.logits(x)));
    },
    // The detector and the classifier belong to the caller.
    dispose() {},
  };
}

const schema = {
  steps: field.integer({ default: 100, min: 1, description: 'Gradient steps.' }),
  relStepSize: field.number({
    default: 0.025,
    min: 0,
    exclusiveMin: true,
    description: 'Step size as a fraction of eps.',
  }),
  randomStart: field.boolean({
    default: true,
    description: 'Start from a uniform random point of the eps-ball.',
  }),
  confidence: field.number({
    default: 5,
    min: 0,
    description:
      'kappa: how far (in logits) the wrong class must lead; confident mistakes also pass squeezing unchanged.',
  }),
  detectorMargin: field.number({
    default: 0,
    min: 0,
    description:
      'How far below the threshold (in units of the joint column) the detector term stops pulling.',
  }),
};

/**
 * The adaptive attack on a classifier guarded by a detector (Carlini & Wagner 2017, "Adversarial Examples Are
 * Not Easily Detected"; He, Wei, Chen, Carlini & Song 2017, "Adversarial Example Defenses: Ensembles of Weak
 * Defenses are not Strong", who break feature squeezing so): PGD (Madry et al. 2018) on a `jointModel`, whose
 * last logit column is the detector's weighted score above its threshold, ascending per example
 *   -max(z_y - max_{j != y} z_j, -kappa) - max(d, -m)
 * over the classifier's logits z and the detector column d: both hinge terms stop pulling once the input is
 * misclassified by kappa and m below the threshold, so the steps go where they are still needed (C&W's f6
 * loss on each part). A large kappa matters against feature squeezing: a confident mistake stays the same
 * mistake when squeezed (Carlini & Wagner 2017 evade detectors with high-confidence examples). Non-differentiable squeezers pass BPDA's identity gradient (Athalye et al. 2018).
 * The last iterate is returned; success (misclassified and not flagged) is judged by the caller.
 *
 * Parameters: steps 100, relStepSize 0.025 (2.5 times across the ball), randomStart true, confidence 5,
 * detectorMargin 0.
 *
 * @example runAttack(jointModel(detector, t, 1), adaptiveDetectorAttack, { x, labels, eps: 0.3 })
 */
export const adaptiveDetectorAttack = defineAttack({
  name: 'adaptive-detector-pgd',
  title: 'PGD on the classifier and its detector jointly (Carlini & Wagner 2017; He et al. 2017)',
  norms: ['linf', 'l2'],
  budget: 'fixed',
  targeted: false,
  schema,
  run: (ctx: AttackContext, p: Params<typeof schema>) => {
    const n = ctx.classifier.numClasses - 1;
    const kappa = p.confidence;
    const objective = (logits: tf.Tensor2D, rows: Int32Array): tf.Tensor1D =>
      tf.tidy(() => {
        const z = tf.slice(logits, [0, 0], [-1, n]) as tf.Tensor2D;
        const d = tf.reshape(tf.slice(logits, [0, n], [-1, 1]), [-1]);
        const labels = tf.tensor1d(
          Int32Array.from(rows, (r) => ctx.labels[r]),
          'int32',
        );
        const margin = tf.sub(classLogit(z, labels), maxOther(z, labels));
        return tf.neg(tf.add(tf.maximum(margin, -kappa), tf.maximum(d, -p.detectorMargin))) as tf.Tensor1D;
      });
    return iterativeAttack(ctx, {
      steps: p.steps,
      stepSize: p.relStepSize * ctx.eps,
      randomStart: p.randomStart,
      restarts: 1,
      loss: objective,
      momentum: 0,
      earlyStop: false,
      l1Sparsity: 0.01,
    });
  },
});

export interface AdaptiveAttackOptions {
  /** Clean inputs [n, h, w, c] (the caller keeps them). */
  x: tf.Tensor4D;
  labels: ArrayLike<number>;
  /** The threshold the detector flags above. */
  threshold: number;
  eps: number;
  /** 'linf' by default. */
  norm?: Norm;
  /** Multiplies score - threshold in the objective, to weigh the detector against the classifier's logits. */
  weight: number;
  /** 'linear' (default) or 'log' (positive scores: log(score / threshold)). */
  scale?: DetectorScale;
  params?: Readonly<Record<string, unknown>>;
  batchSize?: number;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
}

/**
 * Runs `adaptiveDetectorAttack` against `detector` and its classifier through runAttack (which validates,
 * projects onto the eps-ball and the bounds, and disposes); returns the adversarial inputs, which the caller
 * disposes.
 */
export async function attackWithDetector(
  detector: Detector,
  opts: AdaptiveAttackOptions,
): Promise<tf.Tensor4D> {
  const joint = jointModel(detector, opts.threshold, opts.weight, opts.scale);
  const run = await runAttack(joint, adaptiveDetectorAttack, {
    x: opts.x,
    labels: Array.from(opts.labels),
    eps: opts.eps,
    norm: opts.norm ?? 'linf',
    params: opts.params,
    batchSize: opts.batchSize,
    seed: opts.seed,
    signal: opts.signal,
    onProgress: (p) => opts.onProgress?.(p.fraction),
  });
  const adversarial = run.results[0].adversarial;
  if (adversarial === null) {
    run.dispose();
    throw invalidArgument('adaptive attack: no adversarial inputs were kept.');
  }
  return adversarial;
}
