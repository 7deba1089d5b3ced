import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError, invalidArgument } from '../errors.js';
import type { Model } from './model.js';

/** Work done on a model: gradient evaluations and forward queries, counted per example. */
export interface Cost {
  gradients: number;
  queries: number;
}

/** One forward and backward pass: the logits, the per-example loss and its input gradient (caller disposes). */
export interface GradientPass {
  logits: tf.Tensor2D;
  loss: tf.Tensor1D;
  grad: tf.Tensor4D;
}

/** A per-example objective on a batch's logits (one value per row). */
export type LogitsLoss = (logits: tf.Tensor2D) => tf.Tensor1D;

export interface CountedModelOptions {
  /** Forward/backward passes averaged per gradient (EOT); 1 (the default) for deterministic models. */
  eot?: number;
}

/**
 * Counted access to a model, for anything that queries it (attacks, explanations): every forward pass and every
 * gradient is added to `cost`, and a gradient comes with the logits and the loss of its own forward pass, so the
 * caller needs no second pass.
 */
export class CountedModel {
  readonly model: Model;
  readonly cost: Cost = { gradients: 0, queries: 0 };
  readonly eot: number;
  /** Per EOT-averaged logits tensor, the argmax of each of its passes (see `passPredictions`). */
  private readonly predictions = new WeakMap<tf.Tensor2D, Int32Array[]>();

  constructor(model: Model, options: CountedModelOptions = {}) {
    const eot = options.eot ?? 1;
    if (!Number.isInteger(eot) || eot < 1) {
      throw invalidArgument(`eot (passes averaged per gradient) must be an integer >= 1, got ${eot}.`);
    }
    this.model = model;
    this.eot = eot;
  }

  /** Logits of a batch (counts x.shape[0] queries). */
  logits(x: tf.Tensor4D): tf.Tensor2D {
    this.cost.queries += x.shape[0];
    return this.model.logits(x);
  }

  /**
   * Logits of a batch averaged over eot passes (counts eot x x.shape[0] queries); with eot 1 the same as `logits`.
   * Each pass's predictions are kept for `passPredictions`.
   */
  meanLogits(x: tf.Tensor4D): tf.Tensor2D {
    if (this.eot === 1) return this.logits(x);
    const passes: tf.Tensor1D[] = [];
    let sum: tf.Tensor2D | null = null;
    for (let s = 0; s < this.eot; s++) {
      const z = this.logits(x);
      passes.push(tf.argMax(z, 1));
      const next: tf.Tensor2D = sum === null ? z : tf.tidy(() => tf.add<tf.Tensor2D>(sum as tf.Tensor2D, z));
      if (sum !== null) tf.dispose([sum, z]);
      sum = next;
    }
    const mean = tf.tidy(() => tf.div<tf.Tensor2D>(sum as tf.Tensor2D, this.eot));
    (sum as tf.Tensor2D).dispose();
    this.predictions.set(mean, readPasses(passes));
    return mean;
  }

  /**
   * The predicted class of each pass behind logits that this model averaged over EOT passes (`gradient` or
   * `meanLogits` with eot > 1), or null for other logits. An attack on a random model counts a point as fooled
   * only when every pass is fooled, not when the mean is: a point that one draw in eot still classifies right is
   * attacked further (stricter than the mean, and than AutoAttack's single-draw check).
   */
  passPredictions(logits: tf.Tensor2D): Int32Array[] | null {
    return this.predictions.get(logits) ?? null;
  }

  /**
   * Logits, per-example loss and the gradient of the summed loss with respect to x (counts one gradient and one
   * query per row and pass). With eot > 1, the means of eot passes (Athalye, Carlini & Wagner 2018, "Obfuscated
   * Gradients Give a False Sense of Security", Expectation over Transformation): each pass draws the model's
   * randomness anew, so the mean gradient estimates the gradient of the expected loss, as AutoAttack's eot_iter
   * does.
   */
  gradient(x: tf.Tensor4D, loss: LogitsLoss): GradientPass {
    if (this.eot === 1) return this.singleGradient(x, loss);
    let sum = this.singleGradient(x, loss);
    const passes: tf.Tensor1D[] = [tf.argMax(sum.logits, 1)];
    for (let s = 1; s < this.eot; s++) {
      const next = this.singleGradient(x, loss);
      passes.push(tf.argMax(next.logits, 1));
      const added = tf.tidy(() => ({
        logits: tf.add<tf.Tensor2D>(sum.logits, next.logits),
        loss: tf.add<tf.Tensor1D>(sum.loss, next.loss),
        grad: tf.add<tf.Tensor4D>(sum.grad, next.grad),
      }));
      disposePass(sum);
      disposePass(next);
      sum = added;
    }
    const mean = tf.tidy(() => ({
      logits: tf.div<tf.Tensor2D>(sum.logits, this.eot),
      loss: tf.div<tf.Tensor1D>(sum.loss, this.eot),
      grad: tf.div<tf.Tensor4D>(sum.grad, this.eot),
    }));
    disposePass(sum);
    this.predictions.set(mean.logits, readPasses(passes));
    return mean;
  }

  private singleGradient(x: tf.Tensor4D, loss: LogitsLoss): GradientPass {
    this.cost.gradients += x.shape[0];
    this.cost.queries += x.shape[0];
    let logits: tf.Tensor2D | undefined;
    let values: tf.Tensor1D | undefined;
    const grad = tf.grad((input: tf.Tensor) => {
      const z = this.model.logits(tf.reshape<tf.Rank.R4>(input, x.shape));
      const l = loss(z);
      // Kept out of the gradient's scope so that the caller gets the forward results without a second pass.
      logits = tf.keep(z);
      values = tf.keep(l);
      return tf.sum(l);
    })(x);
    if (logits === undefined || values === undefined) {
      throw new AdvkitError('INTERNAL', 'The gradient function did not run its forward pass.');
    }
    // tf.grad returns a tensor of x's shape.
    return { logits, loss: values, grad: grad as tf.Tensor4D };
  }
}

/** Each pass's predicted classes, read back in one transfer (not one per pass); disposes the tensors. */
function readPasses(passes: tf.Tensor1D[]): Int32Array[] {
  const stacked = tf.stack(passes);
  const values = Int32Array.from(stacked.dataSync());
  tf.dispose([stacked, ...passes]);
  const n = passes[0].shape[0];
  return passes.map((_, s) => values.subarray(s * n, (s + 1) * n));
}

/** Disposes the three tensors of a pass. */
export function disposePass(pass: GradientPass): void {
  tf.dispose([pass.logits, pass.loss, pass.grad]);
}
