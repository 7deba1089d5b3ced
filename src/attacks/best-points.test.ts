import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { BestPoints } from './best-points.js';

beforeAll(async () => {
  await initNodeBackend();
});

describe('BestPoints', () => {
  it('keeps an adversarial point as final, else the highest score, from tensors or host values', () => {
    const x = tf.tensor4d([0, 0, 0, 0, 0, 0], [3, 2, 1, 1]);
    const before = tf.memory().numTensors;
    const best = new BestPoints(x, Uint8Array.from([0, 0, 1]));
    expect(Array.from(best.pending())).toEqual([0, 1]);
    const first = tf.tensor4d([1, 1, 2, 2], [2, 2, 1, 1]);
    best.record(first, Int32Array.from([0, 1]), Uint8Array.from([0, 1]), [5, 5]);
    // Example 1 is final; example 0 keeps a point of score 5 until a higher one comes.
    best.record(Float32Array.from([3, 3, 4, 4]), Int32Array.from([0, 1]), null, [4, 9]);
    best.record(Float32Array.from([6, 6]), Int32Array.from([0]), null, [7]);
    expect(Array.from(best.pending())).toEqual([0]);
    const result = best.result();
    expect(Array.from(result.dataSync())).toEqual([6, 6, 2, 2, 0, 0]);
    tf.dispose([first, result]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
