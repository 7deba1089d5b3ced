import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../errors.js';
import { CountedModel, type Cost } from '../models/counted-model.js';
import type { Model } from '../models/model.js';
import { checkSeed } from '../util/rng.js';
import { parseParams, type Schema } from '../util/schema.js';
import { BatchAttributionContext, throwIfAborted } from './attribution-context.js';
import { camLayer } from './grad-cam.js';
import { getMethod } from './registry.js';
import { resolveTargets, type AttributionTarget } from './targets.js';
import type { AttributionMethod, InputDetails, MapKind } from './types.js';

export interface ExplainOptions {
  /** Inputs [n, h, w, c] within the model's bounds (the caller keeps ownership). */
  x: tf.Tensor4D;
  /** The class whose logit is explained; 'predicted' by default. */
  target?: AttributionTarget;
  /** True labels, for target 'label'. */
  labels?: ArrayLike<number>;
  /** The method's parameters, checked against its schema; missing ones take the documented defaults. */
  params?: Readonly<Record<string, unknown>>;
  /** The layer (layers model) or graph node (graph model) for Grad-CAM; default: the last 4-D activation. */
  layer?: string;
  /** Rows per forward or backward pass, including noise samples and IG steps (default 64). */
  batchSize?: number;
  /** Seed of the noise (SmoothGrad, uniform IG baselines); default 0. The same seed gives the same maps. */
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (progress: ExplainProgress) => void;
}

export interface ExplainProgress {
  method: string;
  /** Fraction 0..1 of the inputs done. */
  fraction: number;
}

/** Attributions of a batch of inputs by one method. The caller disposes `maps`. */
export interface Attribution {
  method: string;
  title: string;
  output: MapKind;
  /** [n, h, w, c] (raw, signed) for the gradient family; [n, h, w] at input resolution for Grad-CAM, occlusion. */
  maps: tf.Tensor;
  /** The class explained, per input. */
  targets: Int32Array;
  /** The model's prediction, per input. */
  predictions: Int32Array;
  /** Per input: what the method reports (IG's steps and completeness gap, Grad-CAM's layer); {} otherwise. */
  details: InputDetails[];
  /** The parameters used, defaults filled in. */
  params: Record<string, unknown>;
  /** Gradients and queries spent, over all inputs. */
  cost: Cost;
}

function predictionsOf(counted: CountedModel, x: tf.Tensor4D, batchSize: number): Int32Array {
  const n = x.shape[0];
  const out = new Int32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const pred = tf.tidy(() => {
      const logits = counted.logits(tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1]));
      return tf.argMax(logits, 1);
    });
    out.set(pred.dataSync(), start);
    pred.dispose();
  }
  return out;
}

function checkInputs(model: Model, x: tf.Tensor4D): void {
  const [h, w, c] = model.inputShape;
  if (x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c) {
    throw invalidArgument(`Expected inputs of shape [n, ${h}, ${w}, ${c}], got [${x.shape.join(', ')}].`);
  }
  if (x.shape[0] === 0) throw invalidArgument('There are no inputs to explain.');
}

/**
 * The one entry point of the attribution methods: checks the inputs, the parameters and whether the method can
 * run on this model (before any work), resolves the targets, runs the method batch by batch through counted
 * access to the model, and returns the maps with per-input details and the cost. Every attribution is of the
 * target class's logit, never of a probability. Leaves no tensor behind but `maps`.
 *
 * @example const a = await explain(model, 'ig', { x, target: 'label', labels }); a.maps.dispose();
 */
export async function explain(
  model: Model,
  method: AttributionMethod<Schema> | string,
  opts: ExplainOptions,
): Promise<Attribution> {
  const m = typeof method === 'string' ? getMethod(method) : method;
  checkInputs(model, opts.x);
  const params = parseParams(m.schema, opts.params, m.name);
  const batchSize = opts.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw invalidArgument(`batchSize must be an integer >= 1, got ${batchSize}.`);
  }
  const seed = checkSeed(opts.seed ?? 0);
  if (m.access === 'activations') camLayer(model, opts.layer, m.name);
  else if (opts.layer !== undefined) throw invalidArgument(`${m.name} takes no layer; only gradcam does.`);
  throwIfAborted(opts.signal);

  const counted = new CountedModel(model);
  const x = opts.x;
  const n = x.shape[0];
  const predictions = predictionsOf(counted, x, batchSize);
  const targets = resolveTargets(model, opts.target ?? 'predicted', predictions, opts.labels);
  const parts: tf.Tensor[] = [];
  const details: InputDetails[] = [];
  try {
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      const batch = tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1]);
      const ctx = new BatchAttributionContext({
        counted,
        x: batch,
        targets: targets.slice(start, start + size),
        layer: opts.layer,
        seed,
        offset: start,
        batchSize,
        signal: opts.signal,
        onStep: (f) => opts.onProgress?.({ method: m.name, fraction: (start + f * size) / n }),
      });
      try {
        const out = await m.run(ctx, params);
        parts.push(out.maps);
        for (let i = 0; i < size; i++) details.push(out.details?.[i] ?? {});
      } finally {
        batch.dispose();
      }
      opts.onProgress?.({ method: m.name, fraction: (start + size) / n });
    }
    const maps = parts.length === 1 ? parts[0] : tf.concat(parts, 0);
    if (parts.length > 1) tf.dispose(parts);
    return {
      method: m.name,
      title: m.title,
      output: m.output,
      maps,
      targets,
      predictions,
      details,
      params: { ...params },
      cost: { ...counted.cost },
    };
  } catch (err) {
    tf.dispose(parts);
    throw err;
  }
}
