import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError } from '../errors.js';
import { CountedModel, type GradientPass, type LogitsLoss } from '../models/counted-model.js';
import type { Model } from '../models/model.js';
import type { Rng } from '../util/rng.js';
import { YieldThrottle } from '../util/yield-throttle.js';
import type { AttackContext, Cost, Norm } from './types.js';

export interface BatchSetup {
  classifier: Model;
  x: tf.Tensor4D;
  labels: Int32Array;
  targets: Int32Array | null;
  eps: number;
  norm: Norm;
  rng: Rng;
  /** Forward/backward passes averaged per gradient (EOT); 1 for deterministic models. */
  eot?: number;
  signal?: AbortSignal;
  /** Fraction of this batch done, 0..1. */
  onStep?: (fraction: number) => void;
}

/**
 * The runner's AttackContext for one batch: model access goes through a CountedModel (which counts the cost and
 * averages EOT passes); this adds the attack's side: the goal, progress and cancellation.
 */
export class BatchContext implements AttackContext {
  readonly classifier: Model;
  readonly x: tf.Tensor4D;
  readonly labels: Int32Array;
  readonly targets: Int32Array | null;
  readonly eps: number;
  readonly norm: Norm;
  readonly bounds: readonly [number, number];
  readonly rng: Rng;
  private readonly counted: CountedModel;
  private readonly signal: AbortSignal | undefined;
  private readonly onStep: ((fraction: number) => void) | undefined;
  private readonly throttle = new YieldThrottle();

  constructor(setup: BatchSetup) {
    this.classifier = setup.classifier;
    this.x = setup.x;
    this.labels = setup.labels;
    this.targets = setup.targets;
    this.eps = setup.eps;
    this.norm = setup.norm;
    this.bounds = setup.classifier.bounds;
    this.rng = setup.rng;
    this.counted = new CountedModel(setup.classifier, { eot: setup.eot });
    this.signal = setup.signal;
    this.onStep = setup.onStep;
  }

  get cost(): Cost {
    return this.counted.cost;
  }

  /** The logits of a batch; with eot > 1 their mean over eot passes, as the gradients are. */
  logits(x: tf.Tensor4D): tf.Tensor2D {
    return this.counted.meanLogits(x);
  }

  gradient(x: tf.Tensor4D, loss: LogitsLoss): GradientPass {
    return this.counted.gradient(x, loss);
  }

  /**
   * Whether each row meets the goal. Logits averaged over EOT passes meet it only when every pass does, so that an
   * attack on a random model stops on a point only once no draw of the model's randomness classifies it right.
   */
  isAdversarial(logits: tf.Tensor2D, rows: Int32Array): Uint8Array {
    const passes = this.counted.passPredictions(logits);
    if (passes !== null) {
      const met = goalMet(passes[0], rows, this.labels, this.targets);
      for (let s = 1; s < passes.length; s++) {
        const next = goalMet(passes[s], rows, this.labels, this.targets);
        for (let i = 0; i < met.length; i++) met[i] &= next[i];
      }
      return met;
    }
    const pred = tf.tidy(() => tf.argMax(logits, 1));
    const p = pred.dataSync();
    pred.dispose();
    return goalMet(p, rows, this.labels, this.targets);
  }

  async yieldStep(done: number, total: number): Promise<void> {
    await this.throttle.tick(() => this.onStep?.(total > 0 ? Math.min(1, done / total) : 1));
    throwIfAborted(this.signal);
  }
}

/**
 * The logits and loss of a batch without a gradient (counts only queries): for an iterate that only needs
 * scoring, e.g. the last one of a run. Shaped like a gradient pass, with grad null.
 */
export function forwardPass(
  ctx: AttackContext,
  x: tf.Tensor4D,
  loss: LogitsLoss,
): { logits: tf.Tensor2D; loss: tf.Tensor1D; grad: null } {
  const logits = ctx.logits(x);
  return { logits, loss: loss(logits), grad: null };
}

/** For predictions of the examples `rows`: untargeted, prediction != label; targeted, prediction == target. */
export function goalMet(
  predictions: ArrayLike<number>,
  rows: ArrayLike<number>,
  labels: Int32Array,
  targets: Int32Array | null,
): Uint8Array {
  const out = new Uint8Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    out[i] = targets ? Number(predictions[i] === targets[r]) : Number(predictions[i] !== labels[r]);
  }
  return out;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new AdvkitError('ABORTED', 'The attack was cancelled.');
}
