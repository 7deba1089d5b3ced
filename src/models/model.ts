import type * as tf from '@tensorflow/tfjs-core';
import type { ModelActivations } from './layer-access.js';

/**
 * What attacks, evaluations and explanations need from an image classifier (Foolbox 3's Model: bounds and a
 * call). Inputs are NHWC batches in pixel space, with values in `bounds`; any preprocessing happens inside
 * logits(), so budgets and clipping are always in pixel space. Anything that wraps a model (an input-transform
 * defense, randomized smoothing, an ensemble, a model served over HTTP) implements this interface too, and every
 * attack and evaluation runs through it unchanged. `Classifier` is the implementation backed by a tfjs network.
 */
export interface Model {
  /** [height, width, channels] of one input. */
  readonly inputShape: readonly [number, number, number];
  /** [min, max] of the input values. */
  readonly bounds: readonly [number, number];
  /** One name per class, in the order of the logits. */
  readonly classNames: readonly string[];
  readonly numClasses: number;
  /**
   * Logits [n, numClasses] (never probabilities: losses and attacks need them) for a batch x [n, h, w, c]. The
   * caller disposes the result. `training` switches dropout and batch-norm where the model has them.
   */
  logits(x: tf.Tensor4D, opts?: { training?: boolean }): tf.Tensor2D;
  /** Class probabilities softmax(logits), for display only. */
  predict(x: tf.Tensor4D): tf.Tensor2D;
  /**
   * Intermediate 4-D activations by layer or graph node (Grad-CAM, channel visualization); absent when the
   * model cannot expose them (a black box, a model served over HTTP).
   */
  readonly activations?: ModelActivations;
  /**
   * A random model (a random defense) restarts its draws from `seed`. The evaluation calls it before each chunk
   * of work, so that a chunk's result depends only on its own seed: it resumes exactly and can run on another
   * machine. Deterministic models leave it out.
   */
  reseed?(seed: number): void;
  /** Frees what the model owns (a wrapper decides whether that includes the model it wraps). */
  dispose(): void;
}
