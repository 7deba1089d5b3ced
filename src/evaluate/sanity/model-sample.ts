import * as tf from '@tensorflow/tfjs-core';
import { throwIfAborted } from '../../attacks/attack-context.js';
import type { Model } from '../../models/model.js';
import { Rng } from '../../util/rng.js';

/** What the checks that probe the model directly (no attack) look at. */
export interface ModelSample {
  classifier: Model;
  /** A few inputs [n, h, w, c] within the classifier's bounds (the caller keeps ownership). */
  x: tf.Tensor4D;
  /** Their true labels. */
  labels: Int32Array;
  /** Examples per pass (default 64). */
  batchSize?: number;
  signal?: AbortSignal;
}

export const DEFAULT_SANITY_BATCH = 64;

/** Up to `cap` of the `n` indices 0..n-1 (all when n <= cap), drawn with the seed, in ascending order. */
export function sampleIndices(n: number, cap: number, seed: number): Int32Array {
  if (n <= cap) return Int32Array.from({ length: n }, (_, i) => i);
  return new Rng(seed).permutation(n).slice(0, cap).sort();
}

/** Up to `cap` entries of `values`, drawn with the seed, in their original order. */
export function sampleValues(values: ArrayLike<number>, cap: number, seed: number): Int32Array {
  return Int32Array.from(sampleIndices(values.length, cap, seed), (i) => values[i]);
}

/**
 * Runs `f` on each batch of the sample's inputs (with the batch's labels) and hands its values to `each` in
 * order, yielding to the event loop between batches and stopping with ABORTED when the signal fires.
 */
export async function forEachBatch(
  sample: ModelSample,
  f: (xb: tf.Tensor4D, labels: tf.Tensor1D) => tf.Tensor,
  each: (values: Float32Array, rows: number) => void,
): Promise<void> {
  const n = sample.x.shape[0];
  const batchSize = sample.batchSize ?? DEFAULT_SANITY_BATCH;
  for (let start = 0; start < n; start += batchSize) {
    throwIfAborted(sample.signal);
    const size = Math.min(batchSize, n - start);
    const out = tf.tidy(() =>
      f(
        tf.slice(sample.x, [start, 0, 0, 0], [size, -1, -1, -1]),
        tf.tensor1d(sample.labels.subarray(start, start + size), 'int32'),
      ),
    );
    const values = await out.data();
    out.dispose();
    each(values instanceof Float32Array ? values : Float32Array.from(values), size);
  }
}

/** A number for a flag's text: 3 significant digits, no exponent noise for ordinary values. */
export function fmt(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? String(Number(v.toPrecision(3))) : v.toExponential(2);
}

/** A fraction as a percentage with one decimal. */
export function pct(fraction: number): string {
  return `${(100 * fraction).toFixed(1)}%`;
}

/** "1 point", "3 points". */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
