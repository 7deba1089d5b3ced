import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../errors.js';
import type { Rng } from '../util/rng.js';

export type AugmentName = 'none' | 'crop-flip';
export const AUGMENT_NAMES: readonly AugmentName[] = ['none', 'crop-flip'];

export interface CropFlipOptions {
  /** Pixels of padding on each side before the random crop back to the original size (default 4). */
  pad?: number;
  /** 'reflect' mirrors the image without repeating the edge; 'zero' pads with 0 (default 'reflect'). */
  padMode?: 'reflect' | 'zero';
  /** Flip left-right with probability 1/2 (default true). */
  flip?: boolean;
}

function reflectIndex(i: number, size: number): number {
  if (i < 0) return -i;
  if (i >= size) return 2 * (size - 1) - i;
  return i;
}

/**
 * Random crop after padding, and random horizontal flip: the standard CIFAR augmentation (He et al., "Deep
 * Residual Learning", CVPR 2016). Each image draws its own offsets and flip from `rng`, so the same Rng state
 * gives the same batch. Done as a single gather over pixel rows, so the values are copied exactly (no
 * interpolation). Returns a new tensor; the caller disposes it and `x`.
 */
export function randomCropFlip(x: tf.Tensor4D, rng: Rng, opts: CropFlipOptions = {}): tf.Tensor4D {
  const pad = opts.pad ?? 4;
  const padMode = opts.padMode ?? 'reflect';
  const flip = opts.flip ?? true;
  const [n, h, w, c] = x.shape;
  if (!Number.isInteger(pad) || pad < 0)
    throw invalidArgument(`Crop padding must be an integer >= 0, got ${pad}.`);
  if (padMode === 'reflect' && (pad >= h || pad >= w)) {
    throw invalidArgument(`Reflect padding ${pad} needs images larger than ${pad} pixels, got ${h}x${w}.`);
  }
  const zeroRow = n * h * w; // index of an all-zero row appended below, for zero padding
  const index = new Int32Array(n * h * w);
  let k = 0;
  for (let b = 0; b < n; b++) {
    const dy = rng.int(2 * pad + 1) - pad;
    const dx = rng.int(2 * pad + 1) - pad;
    const mirror = flip && rng.next() < 0.5;
    for (let i = 0; i < h; i++) {
      let sy = i + dy;
      const outY = sy < 0 || sy >= h;
      if (padMode === 'reflect') sy = reflectIndex(sy, h);
      for (let j = 0; j < w; j++) {
        let sx = (mirror ? w - 1 - j : j) + dx;
        const outX = sx < 0 || sx >= w;
        if (padMode === 'reflect') sx = reflectIndex(sx, w);
        index[k++] = padMode === 'zero' && (outY || outX) ? zeroRow : (b * h + sy) * w + sx;
      }
    }
  }
  return tf.tidy(() => {
    const rows = tf.concat([tf.reshape(x, [n * h * w, c]), tf.zeros([1, c], x.dtype)], 0);
    return tf.reshape(tf.gather(rows, tf.tensor1d(index, 'int32')), [n, h, w, c]);
  });
}

/**
 * Gaussian noise augmentation: `x` plus independent N(0, sigma^2) noise on every value, in the model's pixel
 * space and not clipped to the valid range. This is how Cohen, Rosenfeld & Kolter ("Certified Adversarial
 * Robustness via Randomized Smoothing", ICML 2019) train the base classifier of a smoothed classifier: with
 * the same sigma as the smoothing noise it will be certified with. The noise is drawn from `rng` in order
 * (image by image, row-major), so the same Rng state gives the same noise on every backend. sigma 0 returns
 * a copy of `x` without drawing. Returns a new tensor; the caller disposes it and `x`.
 */
export function gaussianNoise(x: tf.Tensor4D, sigma: number, rng: Rng): tf.Tensor4D {
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma < 0)
    throw invalidArgument(`Noise sigma must be a finite number >= 0, got ${String(sigma)}.`);
  if (sigma === 0) return tf.clone(x);
  const noise = new Float32Array(x.size);
  for (let i = 0; i < noise.length; i++) noise[i] = sigma * rng.normal();
  return tf.tidy(() => tf.add(x, tf.tensor4d(noise, x.shape, 'float32')));
}
