import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, type Transform } from './transform.js';

/** The largest standard deviation, in pixels: beyond it the image is a flat average of itself. */
export const MAX_BLUR_SIGMA = 8;

/**
 * Gaussian blur with standard deviation `sigma` pixels (the "local smoothing" family of Xu, Evans & Qi 2018,
 * "Feature Squeezing"; a low-pass filter that removes the high-frequency part of a perturbation). The kernel is
 * exp(-d^2 / (2 sigma^2)) for |d| <= ceil(3 sigma), normalized, with reflect padding at the borders, applied along
 * the rows then the columns. Each pass is one matrix product with a [side, side] matrix that has the padding
 * folded in, so the transform is linear and differentiable as it is: no BPDA. Example: `gaussianBlurTransform(1)`.
 */
export function gaussianBlurTransform(sigma: number): Transform {
  checkNumber('blur sigma (standard deviation in pixels)', sigma, 0, MAX_BLUR_SIGMA);
  return {
    name: 'blur',
    params: { sigma },
    spec: `blur:${sigma}`,
    differentiable: true,
    random: false,
    apply(x, { bounds: [lo, hi] }) {
      return tf.tidy(() => {
        const [n, h, w, c] = x.shape;
        // Sigma 0 is the identity, so that a sweep over sigma may start there.
        if (sigma === 0) return tf.clone(x);
        // Along the width: rows of [n*h, w, c] -> [n*h*c, w] @ Mw^T.
        const byWidth = tf.reshape(tf.transpose(x, [0, 1, 3, 2]), [n * h * c, w]);
        const blurredW = tf.matMul(byWidth, blurMatrix(w, sigma), false, true);
        // [n, h, c, w] -> [n, w, c, h] so that the height is last.
        const byHeight = tf.reshape(tf.transpose(tf.reshape(blurredW, [n, h, c, w]), [0, 3, 2, 1]), [
          n * w * c,
          h,
        ]);
        const blurred = tf.matMul(byHeight, blurMatrix(h, sigma), false, true);
        const out = tf.transpose(tf.reshape(blurred, [n, w, c, h]), [0, 3, 1, 2]);
        // A convex combination of values in the bounds is inside them; the clip only removes float round-off.
        return tf.clipByValue(out, lo, hi) as tf.Tensor4D;
      });
    },
  };
}

/** M [side, side] with (M v)_i = sum_d g(d) v_reflect(i + d): a 1-D Gaussian blur with reflect padding. */
function blurMatrix(side: number, sigma: number): tf.Tensor2D {
  const radius = Math.ceil(3 * sigma);
  const weights: number[] = [];
  let total = 0;
  for (let d = -radius; d <= radius; d++) {
    const g = Math.exp(-(d * d) / (2 * sigma * sigma));
    weights.push(g);
    total += g;
  }
  const m = new Float32Array(side * side);
  for (let i = 0; i < side; i++) {
    for (let d = -radius; d <= radius; d++) {
      m[i * side + reflect(i + d, side)] += weights[d + radius] / total;
    }
  }
  return tf.tensor2d(m, [side, side]);
}

/** The index of `j` reflected into [0, side) about the border pixels (no repeat: -1 -> 1), as often as needed. */
function reflect(j: number, side: number): number {
  if (side === 1) return 0;
  const period = 2 * (side - 1);
  const k = ((j % period) + period) % period;
  return k < side ? k : period - k;
}
