import { invalidArgument } from '../errors.js';
import { Rng } from '../util/rng.js';

export interface BatchOptions {
  batchSize: number;
  /** Shuffle the order (default false: 0..count-1 in order). */
  shuffle?: boolean;
  /** Seed of the shuffle (default 0). */
  seed?: number;
  /** Epoch number: each epoch gets its own order, the same one on every run with the same seed. Default 0. */
  epoch?: number;
  /** Drop a last batch smaller than batchSize (default false). */
  dropLast?: boolean;
}

function checkNonNegativeInt(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0) {
    throw invalidArgument(`${what} must be a non-negative integer, got ${value}.`);
  }
}

/** The shuffle seed of one epoch: a hash of (seed, epoch) so that nearby seeds and epochs do not collide. */
function epochSeed(seed: number, epoch: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x5bd1e995, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ (epoch >>> 0), 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}

/** Splits 0..count-1 into batches of indices, optionally in a seeded per-epoch random order. */
export function batchIndices(count: number, opts: BatchOptions): Int32Array[] {
  const { batchSize, shuffle = false, seed = 0, epoch = 0, dropLast = false } = opts;
  checkNonNegativeInt(count, 'count');
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw invalidArgument(`batchSize must be a positive integer, got ${batchSize}.`);
  }
  if (!Number.isInteger(seed)) throw invalidArgument(`seed must be an integer, got ${seed}.`);
  checkNonNegativeInt(epoch, 'epoch');

  let order: Int32Array;
  if (shuffle) {
    order = new Rng(epochSeed(seed, epoch)).permutation(count);
  } else {
    order = new Int32Array(count);
    for (let i = 0; i < count; i++) order[i] = i;
  }
  const batches: Int32Array[] = [];
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(start + batchSize, count);
    if (dropLast && end - start < batchSize) break;
    batches.push(order.slice(start, end));
  }
  return batches;
}
