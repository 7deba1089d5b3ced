import * as tf from '@tensorflow/tfjs-core';
import { throwIfAborted } from '../attacks/attack-context.js';
import { getAttack } from '../attacks/registry.js';
import { runAttack } from '../attacks/run-attack.js';
import { AdvkitError, invalidArgument } from '../errors.js';
import type { Model } from '../models/model.js';
import { checkSeed, Rng } from '../util/rng.js';
import { ABSTAIN, smoothedPredict } from './randomized-smoothing.js';

/**
 * The base classifier under Gaussian noise as a random model: logits(x) = f(x + N(0, sigma^2 I)), unclipped as
 * in randomized smoothing, with fresh noise at every call from a seeded stream (the same seed and sequence of
 * calls give the same logits). Attacking it with EOT (`runAttack`'s `eot`) ascends the expected loss of the
 * noisy base classifier, the smoothed classifier's loss that Salman et al. 2019 ("Provably Robust Deep Learning
 * via Adversarially Trained Smoothed Classifiers") attack.
 */
export class GaussianNoiseModel implements Model {
  readonly inputShape: readonly [number, number, number];
  readonly bounds: readonly [number, number];
  readonly classNames: readonly string[];
  readonly numClasses: number;
  private readonly rng: Rng;

  constructor(
    readonly model: Model,
    readonly sigma: number,
    seed = 0,
  ) {
    if (!(Number.isFinite(sigma) && sigma > 0)) {
      throw invalidArgument(`GaussianNoiseModel: sigma must be a number > 0, got ${sigma}.`);
    }
    this.inputShape = model.inputShape;
    this.bounds = model.bounds;
    this.classNames = model.classNames;
    this.numClasses = model.numClasses;
    this.rng = new Rng(checkSeed(seed));
  }

  logits(x: tf.Tensor4D, opts?: { training?: boolean }): tf.Tensor2D {
    const seed = this.rng.nextUint32();
    return tf.tidy(() =>
      this.model.logits(tf.add(x, tf.randomNormal(x.shape, 0, this.sigma, 'float32', seed)), opts),
    );
  }

  predict(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(this.logits(x)));
  }

  dispose(): void {
    // The wrapped model belongs to the caller.
  }
}

export interface RadiusCheckOptions {
  /** The smoothing noise's standard deviation, in pixel units: the one the radii were certified with. */
  sigma: number;
  /** PGD steps (default 40; step 2.5 * radius / steps, Madry et al.'s L2 rule). */
  steps?: number;
  /** Noise draws averaged per gradient (EOT, default 16). */
  eot?: number;
  /** Noisy copies of PREDICT's vote at the adversarial point (default 1,000). */
  samples?: number;
  /** PREDICT's significance level (default 0.001). */
  alpha?: number;
  batchSize?: number;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}

/** One certified point attacked inside its certificate, and what the smoothed classifier said there. */
export interface RadiusCheckPoint {
  /** Row of x. */
  index: number;
  /** The certified class and L2 radius. */
  prediction: number;
  radius: number;
  /** L2 distance of the adversarial point from x (<= radius). */
  distance: number;
  /** PREDICT at the adversarial point: a class, or ABSTAIN. */
  after: number;
  /** True when PREDICT named another class there: a certificate broken (it must never happen). */
  changed: boolean;
}

/**
 * The empirical side of a certificate (Cohen, Rosenfeld & Kolter 2019, Theorem 1): for every point certified
 * with class c and radius R > 0, an adaptive attack searches the L2 ball of radius R for a point where the
 * smoothed classifier answers otherwise: L2 PGD with EOT over the smoothing noise on the base classifier
 * (Salman et al. 2019's attack on smoothed classifiers), no early stop, then PREDICT (Cohen et al.'s
 * Algorithm 1) at the point found. A sound certificate is never broken, up to PREDICT's own error (alpha) and
 * the certificate's (1 - alpha) confidence. Points that abstained or have radius 0 are skipped. Every tensor
 * made here is disposed.
 */
export async function attackWithinRadius(
  model: Model,
  x: tf.Tensor4D,
  certified: readonly { prediction: number; radius: number }[],
  options: RadiusCheckOptions,
): Promise<RadiusCheckPoint[]> {
  if (certified.length !== x.shape[0]) {
    throw invalidArgument(
      `attackWithinRadius: ${certified.length} certificates for ${x.shape[0]} inputs; give one per input.`,
    );
  }
  const steps = options.steps ?? 40;
  const eot = options.eot ?? 16;
  const seed = checkSeed(options.seed ?? 0);
  const pgd = getAttack('pgd');
  const rows = certified.flatMap((c, i) => (c.prediction !== ABSTAIN && c.radius > 0 ? [i] : []));
  const out: RadiusCheckPoint[] = [];
  for (const [k, i] of rows.entries()) {
    throwIfAborted(options.signal);
    const { prediction, radius } = certified[i];
    const xi = tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]);
    try {
      const noisy = new GaussianNoiseModel(model, options.sigma, seed + i);
      const run = await runAttack(noisy, pgd, {
        x: xi,
        labels: [prediction],
        eps: radius,
        norm: 'l2',
        params: { steps, relStepSize: 2.5 / steps, earlyStop: false, randomStart: false },
        eot,
        seed: seed + i,
        batchSize: options.batchSize,
        keepAdversarial: true,
        signal: options.signal,
      });
      try {
        const result = run.results[0];
        const adversarial = result.adversarial;
        if (adversarial === null)
          throw new AdvkitError('INTERNAL', 'attackWithinRadius: the attack kept no adversarial input.');
        const [vote] = await smoothedPredict(model, adversarial, {
          sigma: options.sigma,
          n: options.samples ?? 1000,
          alpha: options.alpha ?? 0.001,
          batchSize: options.batchSize,
          seed,
          offset: i,
          signal: options.signal,
        });
        out.push({
          index: i,
          prediction,
          radius,
          distance: result.distances.l2[0],
          after: vote.prediction,
          changed: vote.prediction !== ABSTAIN && vote.prediction !== prediction,
        });
      } finally {
        run.dispose();
      }
    } finally {
      xi.dispose();
    }
    options.onProgress?.({ done: k + 1, total: rows.length });
  }
  return out;
}
