import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { Rng } from '../util/rng.js';
import { gaussianNoise, randomCropFlip } from './augment.js';

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

describe('gaussianNoise', () => {
  it('adds unclipped N(0, sigma^2) noise, reproducible from the Rng state, without leaking', () => {
    const x = tf.tidy(() => tf.fill([4, 16, 16, 3], 0.5) as tf.Tensor4D);
    const before = tf.memory().numTensors;
    const a = gaussianNoise(x, 0.25, new Rng(7));
    expect(tf.memory().numTensors).toBe(before + 1);
    const noise = Array.from(a.dataSync(), (v) => v - 0.5);
    const mean = noise.reduce((s, v) => s + v, 0) / noise.length;
    const std = Math.sqrt(noise.reduce((s, v) => s + (v - mean) ** 2, 0) / noise.length);
    expect(Math.abs(mean)).toBeLessThan(0.02); // 3072 draws: standard error 0.0045
    expect(std).toBeGreaterThan(0.24);
    expect(std).toBeLessThan(0.26);
    expect(noise.some((v) => v + 0.5 < 0 || v + 0.5 > 1)).toBe(true); // not clipped to [0, 1]
    const b = gaussianNoise(x, 0.25, new Rng(7));
    const d = gaussianNoise(x, 0.25, new Rng(8));
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(Array.from(d.dataSync())).not.toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b, d]);
  });

  it('is a copy with sigma 0 and rejects a negative sigma', () => {
    const x = batch();
    const rng = new Rng(1);
    const state = rng.state();
    const y = gaussianNoise(x, 0, rng);
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    expect(rng.state()).toEqual(state); // nothing drawn
    expect(() => gaussianNoise(x, -0.1, rng)).toThrow(/sigma must be a finite number >= 0, got -0.1/);
    expect(() => gaussianNoise(x, NaN, rng)).toThrow(/sigma must be a finite number >= 0/);
    tf.dispose([x, y]);
  });
});
