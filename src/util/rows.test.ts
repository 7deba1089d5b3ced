import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { allRows, gatherRows, indicesWhere, takeRows } from './rows.js';

beforeAll(async () => {
  await initNodeBackend();
});

describe('rows', () => {
  it('gathers rows of any rank, takes them (disposing the source) and finds indices', () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const all = gatherRows(x, allRows(3));
    expect(all).not.toBe(x);
    const picked = gatherRows(x, Int32Array.from([2, 0]));
    expect(picked.arraySync()).toEqual([
      [5, 6],
      [1, 2],
    ]);
    const taken = takeRows(x, Int32Array.from([1]));
    expect(x.isDisposed).toBe(true);
    expect(taken.arraySync()).toEqual([[3, 4]]);
    tf.dispose([all, picked, taken]);
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(indicesWhere([0, 1, 1, 0]))).toEqual([1, 2]);
    expect(Array.from(indicesWhere([0, 1, 1, 0], 0))).toEqual([0, 3]);
  });
});
