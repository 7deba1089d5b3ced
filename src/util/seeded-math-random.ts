import { Rng } from './rng.js';

/**
 * Runs `fn` with Math.random drawing from a seeded Rng, and restores it afterwards. tfjs's unseeded random ops
 * seed themselves from Math.random: that is how tf.layers.dropout draws a fresh mask at every call (a dropout
 * layer given a fixed seed repeats one mask forever). Training wraps each weight pass in this with a seed
 * derived from the run's seed and the step, so that dropout masks differ from step to step yet the same seed
 * gives the same run, resumed or not. `fn` must be synchronous, so nothing else runs while it is swapped.
 */
export function withSeededMathRandom<T>(seed: number, fn: () => T): T {
  const rng = new Rng(seed);
  const original = Math.random;
  Math.random = () => rng.next();
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}

/** A 32-bit seed mixed from several integers (run seed, step, micro-batch), stable across runs. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return h;
}
