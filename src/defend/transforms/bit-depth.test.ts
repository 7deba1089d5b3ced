import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../backend/node-backend.js';
import { bitDepth } from './bit-depth.js';
import { transformContract } from './test-utils/contract.js';

beforeAll(async () => {
  await initNodeBackend();
});

describe('bitDepth', () => {
  transformContract(() => bitDepth(4));

  it('is exactly the identity at 8 bits on byte-valued inputs (k/255 on [0, 1], k on [0, 255])', () => {
    const k = Array.from({ length: 256 }, (_, i) => i);
    const unit = tf.tensor4d(
      k.map((v) => v / 255),
      [1, 16, 16, 1],
    );
    const bytes = tf.tensor4d(k, [1, 16, 16, 1]);
    const a = bitDepth(8).apply(unit, { bounds: [0, 1] });
    const b = bitDepth(8).apply(bytes, { bounds: [0, 255] });
    expect(Array.from(a.dataSync())).toEqual(Array.from(unit.dataSync()));
    expect(Array.from(b.dataSync())).toEqual(k);
    tf.dispose([unit, bytes, a, b]);
  });

  it('rounds to 2^bits levels: 1 bit is a threshold at the middle of the bounds', () => {
    const x = tf.tensor4d([0, 0.2, 0.49, 0.51, 0.8, 1], [1, 1, 6, 1]);
    const y = bitDepth(1).apply(x, { bounds: [0, 1] });
    expect(Array.from(y.dataSync())).toEqual([0, 0, 0, 1, 1, 1]);
    const z = bitDepth(2).apply(x, { bounds: [0, 1] });
    expect(Array.from(z.dataSync())).toEqual([0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1].map((v) => Math.fround(v)));
    tf.dispose([x, y, z]);
  });

  it('rejects a bit depth outside 1 to 16', () => {
    expect(() => bitDepth(0)).toThrow(/bits \(bit depth\) must be an integer from 1 to 16, got 0/);
    expect(() => bitDepth(2.5)).toThrow(/from 1 to 16, got 2.5/);
  });
});
