import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../backend/node-backend.js';
import { Rng } from '../../util/rng.js';
import { randomResizePad } from './random-resize-pad.js';
import { images, transformContract } from './test-utils/contract.js';

beforeAll(async () => {
  await initNodeBackend();
});

describe('randomResizePad', () => {
  transformContract(() => randomResizePad(0.25));

  it('differs between draws and repeats with the same seed', () => {
    const t = randomResizePad(0.5);
    const x = images([1, 12, 12, 3]);
    const rng = new Rng(4);
    const outputs = Array.from({ length: 6 }, () => {
      const y = t.apply(x, { bounds: [0, 1], rng });
      const values = Array.from(y.dataSync());
      y.dispose();
      return values.join(',');
    });
    expect(new Set(outputs).size).toBeGreaterThan(1);
    tf.dispose(x);
  });

  it('draws size and offset per image (Xie et al.): copies of one image in a batch come out different', () => {
    const before = tf.memory().numTensors;
    const one = images([1, 12, 12, 3]);
    const batch = tf.tile(one, [8, 1, 1, 1]);
    const y = randomResizePad(0.5).apply(batch, { bounds: [0, 1], rng: new Rng(2) });
    const rows = tf.unstack(y).map((r) => {
      const v = r.dataSync().join(',');
      r.dispose();
      return v;
    });
    expect(new Set(rows).size).toBeGreaterThan(1);
    tf.dispose([one, batch, y]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is the identity at ratio 0, and needs an rng', () => {
    const x = images([1, 5, 5, 1]);
    const y = randomResizePad(0).apply(x, { bounds: [0, 1], rng: new Rng(1) });
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    expect(() => randomResizePad(0.1).apply(x, { bounds: [0, 1] })).toThrow(/needs a seeded rng/);
    tf.dispose([x, y]);
    expect(() => randomResizePad(2)).toThrow(/resize-pad ratio .* must be a number from 0 to 1, got 2/);
  });
});
