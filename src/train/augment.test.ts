import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { Rng } from '../util/rng.js';
import { randomCropFlip } from './augment.js';

beforeAll(async () => {
  await initNodeBackend({ backend: 'cpu' });
});

const [n, h, w, c] = [12, 6, 5, 2];

function batch(): tf.Tensor4D {
  return tf.tidy(() => tf.reshape(tf.range(1, n * h * w * c + 1, 1, 'float32'), [n, h, w, c]) as tf.Tensor4D);
}

/** Every crop-and-flip of image b of `padded` (padded by `pad`), as flat arrays. */
function candidates(padded: number[][][][], b: number, pad: number): string[] {
  const out: string[] = [];
  for (let oy = 0; oy <= 2 * pad; oy++) {
    for (let ox = 0; ox <= 2 * pad; ox++) {
      for (const mirror of [false, true]) {
        const img: number[] = [];
        for (let i = 0; i < h; i++) {
          for (let j = 0; j < w; j++) img.push(...padded[b][oy + i][ox + (mirror ? w - 1 - j : j)]);
        }
        out.push(img.join(','));
      }
    }
  }
  return out;
}

function checkEachImageIsACrop(padMode: 'reflect' | 'zero'): void {
  const pad = 2;
  const x = batch();
  const padded = tf.tidy(() =>
    padMode === 'reflect'
      ? tf.mirrorPad(
          x,
          [
            [0, 0],
            [pad, pad],
            [pad, pad],
            [0, 0],
          ],
          'reflect',
        )
      : tf.pad(x, [
          [0, 0],
          [pad, pad],
          [pad, pad],
          [0, 0],
        ]),
  );
  const out = randomCropFlip(x, new Rng(3), { pad, padMode });
  const paddedValues = padded.arraySync() as number[][][][];
  const outValues = out.arraySync();
  expect(out.shape).toEqual([n, h, w, c]);
  const seen = new Set<number>();
  for (let b = 0; b < n; b++) {
    const options = candidates(paddedValues, b, pad);
    const index = options.indexOf(outValues[b].flat(2).join(','));
    expect(index).toBeGreaterThanOrEqual(0);
    seen.add(index);
  }
  expect(seen.size).toBeGreaterThan(4); // offsets and flips actually vary across the batch
  tf.dispose([x, padded, out]);
}

describe('randomCropFlip', () => {
  it('outputs, per image, a crop of the reflect-padded image, possibly flipped', () => {
    checkEachImageIsACrop('reflect');
  });

  it('outputs, per image, a crop of the zero-padded image, possibly flipped', () => {
    checkEachImageIsACrop('zero');
  });

  it('is reproducible from the Rng state and varies with it', () => {
    const x = batch();
    const a = randomCropFlip(x, new Rng(7));
    const b = randomCropFlip(x, new Rng(7));
    const d = randomCropFlip(x, new Rng(8));
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(d.dataSync()));
    tf.dispose([x, a, b, d]);
  });

  it('is the identity with pad 0 and no flip, and does not leak', () => {
    const x = batch();
    const before = tf.memory().numTensors;
    const y = randomCropFlip(x, new Rng(1), { pad: 0, flip: false });
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    tf.dispose([x, y]);
  });

  it('rejects bad padding', () => {
    const x = batch();
    expect(() => randomCropFlip(x, new Rng(1), { pad: -1 })).toThrow(/integer >= 0/);
    expect(() => randomCropFlip(x, new Rng(1), { pad: 5 })).toThrow(/Reflect padding 5/);
    x.dispose();
  });
});
