import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError } from '../errors.js';
import type { Classifier } from '../models/classifier.js';
import type { Rng } from '../util/rng.js';
import type { AttackContext, Cost, Norm } from './types.js';

export interface BatchSetup {
  classifier: Classifier;
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

/** Yield to the event loop at most this often (ms): enough for Ctrl-C and progress, cheap per step. */
const YIELD_INTERVAL_MS = 50;

/** The runner's AttackContext for one batch: counts the cost of every model access. */
export class BatchContext implements AttackContext {
  readonly classifier: Classifier;
  readonly x: tf.Tensor4D;
  readonly labels: Int32Array;
  readonly targets: Int32Array | null;
  readonly eps: number;
  readonly norm: Norm;
  readonly bounds: readonly [number, number];
  readonly rng: Rng;
  readonly cost: Cost = { gradients: 0, queries: 0 };
  private readonly eot: number;
  private readonly signal: AbortSignal | undefined;
  private readonly onStep: ((fraction: number) => void) | undefined;
  private lastYield = Date.now();

  constructor(setup: BatchSetup) {
    this.classifier = setup.classifier;
    this.x = setup.x;
    this.labels = setup.labels;
    this.targets = setup.targets;
    this.eps = setup.eps;
    this.norm = setup.norm;
    this.bounds = setup.classifier.bounds;
    this.rng = setup.rng;
    this.eot = setup.eot ?? 1;
    this.signal = setup.signal;
    this.onStep = setup.onStep;
  }

  logits(x: tf.Tensor4D): tf.Tensor2D {
    this.cost.queries += x.shape[0];
    return this.classifier.logits(x);
  }

  /**
   * With eot > 1, the mean of eot passes (Athalye, Carlini & Wagner 2018, "Obfuscated Gradients Give a False
   * Sense of Security", Expectation over Transformation): each pass draws the model's randomness anew, so the
   * mean gradient estimates the gradient of the expected loss, as AutoAttack's eot_iter does.
   */
  gradient(
    x: tf.Tensor4D,
    loss: (logits: tf.Tensor2D) => tf.Tensor1D,
  ): { logits: tf.Tensor2D; loss: tf.Tensor1D; grad: tf.Tensor4D } {
    if (this.eot === 1) return this.singleGradient(x, loss);
    let sum = this.singleGradient(x, loss);
    for (let s = 1; s < this.eot; s++) {
      const next = this.singleGradient(x, loss);
      const added = {
        logits: tf.add(sum.logits, next.logits) as tf.Tensor2D,
        loss: tf.add(sum.loss, next.loss) as tf.Tensor1D,
        grad: tf.add(sum.grad, next.grad) as tf.Tensor4D,
      };
      disposeAll(sum);
      disposeAll(next);
      sum = added;
    }
    const mean = tf.tidy(() => ({
      logits: tf.div(sum.logits, this.eot) as tf.Tensor2D,
      loss: tf.div(sum.loss, this.eot) as tf.Tensor1D,
      grad: tf.div(sum.grad, this.eot) as tf.Tensor4D,
    }));
    disposeAll(sum);
    return mean;
  }

  private singleGradient(
    x: tf.Tensor4D,
    loss: (logits: tf.Tensor2D) => tf.Tensor1D,
  ): { logits: tf.Tensor2D; loss: tf.Tensor1D; grad: tf.Tensor4D } {
    this.cost.gradients += x.shape[0];
    this.cost.queries += x.shape[0];
    let logits: tf.Tensor2D | undefined;
    let values: tf.Tensor1D | undefined;
    const grad = tf.grad((input: tf.Tensor) => {
      const z = this.classifier.logits(tf.reshape<tf.Rank.R4>(input, x.shape));
      const l = loss(z);
      // Kept out of the gradient's scope so that the caller gets the forward results without a second pass.
      logits = tf.keep(z);
      values = tf.keep(l);
      return tf.sum(l);
    })(x);
    if (logits === undefined || values === undefined) {
      throw new AdvkitError('INTERNAL', 'The gradient function did not run its forward pass.');
    }
    return { logits, loss: values, grad: grad as tf.Tensor4D };
  }

  isAdversarial(logits: tf.Tensor2D, rows: Int32Array): Uint8Array {
    const pred = tf.tidy(() => tf.argMax(logits, 1));
    const p = pred.dataSync();
    pred.dispose();
    return goalMet(p, rows, this.labels, this.targets);
  }

  async yieldStep(done: number, total: number): Promise<void> {
    const now = Date.now();
    if (now - this.lastYield >= YIELD_INTERVAL_MS) {
      this.lastYield = now;
      this.onStep?.(total > 0 ? Math.min(1, done / total) : 1);
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
    }
    throwIfAborted(this.signal);
  }
}

function disposeAll(pass: { logits: tf.Tensor; loss: tf.Tensor; grad: tf.Tensor }): void {
  pass.logits.dispose();
  pass.loss.dispose();
  pass.grad.dispose();
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
