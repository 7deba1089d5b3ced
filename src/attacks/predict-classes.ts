import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../models/model.js';
import { throwIfAborted } from './attack-context.js';

/**
 * The arg-max (or, for 'least-likely' targets, arg-min) class of every input, in inference mode and batches,
 * yielding to the event loop between batches and stopping with ABORTED when `signal` fires.
 */
export async function predictClasses(
  classifier: Model,
  x: tf.Tensor4D,
  options: { batchSize: number; which?: 'max' | 'min'; signal?: AbortSignal },
): Promise<Int32Array> {
  const n = x.shape[0];
  const out = new Int32Array(n);
  for (let start = 0; start < n; start += options.batchSize) {
    throwIfAborted(options.signal);
    const size = Math.min(options.batchSize, n - start);
    const idx = tf.tidy(() => {
      const z = classifier.logits(tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1]));
      return options.which === 'min' ? tf.argMin(z, 1) : tf.argMax(z, 1);
    });
    out.set(await idx.data(), start);
    idx.dispose();
  }
  return out;
}

/** Mean of 0/1 flags (or any numbers); 0 for none. */
export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return values.length === 0 ? 0 : s / values.length;
}
