import type * as tf from '@tensorflow/tfjs-core';
import type { Cost } from '../models/counted-model.js';
import type { Model } from '../models/model.js';
import type { Rng } from '../util/rng.js';
import type { Params, Schema } from '../util/schema.js';

/**
 * 'pixel': one value per input value, maps [n, h, w, c], raw and signed (the gradient family);
 * 'spatial': one value per pixel, maps [n, h, w] at input resolution (Grad-CAM, occlusion).
 */
export type MapKind = 'pixel' | 'spatial';

/**
 * What a method needs from the model: 'gradients' (input gradients of the logits), 'activations' (a 4-D
 * intermediate activation and its gradient, `Model.activations`) or 'queries' (forward passes only, so that
 * black-box and served models can be explained too).
 */
export type MethodAccess = 'gradients' | 'activations' | 'queries';

/** The gradient of each row's target logit with respect to the input, with those logits (caller disposes). */
export interface TargetGradient {
  /** The target logit per row [n]. */
  logit: tf.Tensor1D;
  /** d logit_target / d x, [n, h, w, c]. */
  grad: tf.Tensor4D;
}

/** One batch of one method, as explain() hands it over. Methods reach the model through it only. */
export interface AttributionContext {
  /** The model explained: its shape, bounds and activations (reach its logits through the calls below). */
  readonly model: Model;
  /** The inputs (owned by explain(); do not dispose). */
  readonly x: tf.Tensor4D;
  /** The class whose logit is explained, per row. */
  readonly targets: Int32Array;
  /** The Grad-CAM / channel layer the caller named, if any. */
  readonly layer: string | undefined;
  /**
   * The random stream of row `row` of this batch, seeded by the run's seed and the input's index in the whole
   * run, so that a batch gives the same maps as its inputs one by one.
   */
  rowRng(row: number): Rng;
  /** Rows per forward or backward pass; methods that expand a batch (noise samples, IG steps) stay under it. */
  readonly batchSize: number;
  /** Target logits of any batch whose rows are copies of this batch's rows `rows` (counts queries). */
  targetLogits(x: tf.Tensor4D, rows: Int32Array): tf.Tensor1D;
  /** Gradient of the target logits for a batch of copies of the rows `rows` (counts gradients). */
  targetGradient(x: tf.Tensor4D, rows: Int32Array): TargetGradient;
  /** Adds to the cost of the run; for methods that call the model some other way (activations). */
  count(cost: Partial<Cost>): void;
  /** Lets the event loop run, reports progress within this batch, throws ABORTED when cancelled. */
  yieldStep(done: number, total: number): Promise<void>;
}

/** Per-input details a method reports (IG's steps and completeness gap, Grad-CAM's layer). */
export type InputDetails = Record<string, number | string | boolean>;

/** What a method returns for one batch. */
export interface MethodOutput {
  /** [n, h, w, c] for 'pixel' methods, [n, h, w] for 'spatial' ones. */
  maps: tf.Tensor;
  /** One record per row, when the method has something to say per input. */
  details?: InputDetails[];
}

/** An attribution method: its documentation, parameter schema and batch routine. */
export interface AttributionMethod<S extends Schema = Schema> {
  /** The CLI name ('smoothgrad'). */
  readonly name: string;
  /** One line for listings and figure titles: what it is and where it comes from. */
  readonly title: string;
  readonly output: MapKind;
  readonly access: MethodAccess;
  readonly schema: S;
  run(ctx: AttributionContext, params: Params<S>): Promise<MethodOutput>;
}

/** Identity with inference: `export const saliency = defineMethod({ ... })` keeps the schema's exact type. */
export function defineMethod<S extends Schema>(method: AttributionMethod<S>): AttributionMethod<S> {
  return method;
}
