import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { mixSeed, withSeededMathRandom } from './seeded-math-random.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const mask = (seed: number): number[] =>
  withSeededMathRandom(seed, () => Array.from(tf.tidy(() => tf.dropout(tf.ones([64]), 0.5)).dataSync()));

describe('withSeededMathRandom', () => {
  it("makes tfjs's unseeded dropout reproducible per seed and different across seeds", () => {
    expect(mask(1)).toEqual(mask(1));
    expect(mask(1)).not.toEqual(mask(2));
  });

  it('restores Math.random, also when the function throws', () => {
    const original = Math.random;
    expect(() =>
      withSeededMathRandom(1, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(Math.random).toBe(original);
  });

  it('mixes seeds stably and differently for different parts', () => {
    expect(mixSeed(1, 2)).toBe(mixSeed(1, 2));
    expect(mixSeed(1, 2)).not.toBe(mixSeed(2, 1));
    expect(mixSeed(0, 0)).toBeGreaterThanOrEqual(0);
  });
});
