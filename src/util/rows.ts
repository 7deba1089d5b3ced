import * as tf from '@tensorflow/tfjs-core';

/**
 * Row bookkeeping of batched attacks and checks: the rows (examples) still being worked on are kept as index
 * arrays, and tensors are narrowed to them.
 */

/** The rows `rows` of x (first axis) as a new tensor; a clone when `rows` is 0..n-1. */
export function gatherRows<T extends tf.Tensor>(x: T, rows: Int32Array): T {
  if (rows.length === x.shape[0] && rows.every((r, i) => r === i)) return x.clone();
  // tf.gather keeps the rank of x.
  return tf.tidy(() => tf.gather(x, tf.tensor1d(rows, 'int32')) as T);
}

/** The rows `rows` of x as a new tensor; disposes x. */
export function takeRows<T extends tf.Tensor>(x: T, rows: Int32Array): T {
  const out = gatherRows(x, rows);
  x.dispose();
  return out;
}

/** The indices i where flags[i] === value (default 1), in order. */
export function indicesWhere(flags: ArrayLike<number>, value = 1): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < flags.length; i++) if (flags[i] === value) out.push(i);
  return Int32Array.from(out);
}

/** 0, 1, ..., n - 1. */
export function allRows(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}
