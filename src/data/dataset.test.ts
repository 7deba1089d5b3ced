import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { take, toTensors } from './dataset.js';
import { tinyDataset } from './test-utils/synthetic.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('toTensors', () => {
  const ds = tinyDataset(5, 3);

  it('gives float32 NHWC in [0,1] and int32 labels for chosen indices', () => {
    const before = tf.memory().numTensors;
    const { x, y } = toTensors(ds, [4, 1]);
    expect(x.shape).toEqual([2, 2, 2, 1]);
    expect(x.dtype).toBe('float32');
    expect(y.dtype).toBe('int32');
    expect(Array.from(x.dataSync())).toEqual([4, 4, 4, 4, 1, 1, 1, 1].map((v) => Math.fround(v / 255)));
    expect(Array.from(y.dataSync())).toEqual([1, 1]);
    x.dispose();
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('converts the whole dataset without indices, and leaks nothing', () => {
    const before = tf.memory().numTensors;
    const { x, y } = toTensors(ds);
    expect(x.shape).toEqual([5, 2, 2, 1]);
    const max = tf.max(x);
    expect(max.arraySync()).toBeCloseTo(4 / 255);
    max.dispose();
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects out-of-range indices', () => {
    expect(() => toTensors(ds, [5])).toThrow(/0\.\.4/);
    expect(() => toTensors(ds, [1.5])).toThrow(/integer/);
  });
});

describe('take', () => {
  it('copies the chosen images in order', () => {
    const ds = tinyDataset(5, 3);
    const t = take(ds, [3, 3, 0]);
    expect(t.count).toBe(3);
    expect(Array.from(t.pixels)).toEqual([3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0]);
    expect(Array.from(t.labels)).toEqual([0, 0, 0]);
    t.pixels[0] = 99;
    expect(ds.pixels[12]).toBe(3);
  });
});
