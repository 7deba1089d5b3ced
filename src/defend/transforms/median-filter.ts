import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../../errors.js';
import { bpdaIdentity, checkImageBatch, checkInteger, type Transform } from './transform.js';

/** The largest window: size^2 slices are stacked per pixel, so the cost grows with its square. */
export const MAX_MEDIAN_SIZE = 9;

/**
 * Median filter (Xu, Evans & Qi 2018, "Feature Squeezing", Section 4.2, "local smoothing"): each value becomes the
 * median of the size x size window around it in its own channel, with reflect padding at the borders (the image
 * needs more than size / 2 rows and columns). It removes isolated outliers (salt-and-pepper, sparse L0 attacks).
 * The window's values are stacked as the last axis and the median taken with topk. Selecting a value has a
 * gradient, but topk has none in tfjs, so the backward pass is BPDA's identity (Athalye et al. 2018, who break the
 * median filter of Xu et al. the same way). Example: `medianFilter(3)`.
 */
export function medianFilter(size: number): Transform {
  checkInteger('median size (window side)', size, 1, MAX_MEDIAN_SIZE);
  if (size % 2 === 0) {
    throw invalidArgument(
      `median size (window side) must be odd (the window is centred on the pixel), got ${size}; use 1, 3, 5, 7 or 9.`,
    );
  }
  const r = (size - 1) / 2;
  return {
    name: 'median',
    params: { size },
    spec: `median:${size}`,
    differentiable: false,
    random: false,
    apply(x) {
      checkImageBatch('median', x, r + 1, `reflect padding of a ${size}x${size} window`);
      if (size === 1) return tf.clone(x);
      const forward = bpdaIdentity((input) =>
        tf.tidy(() => {
          const [n, h, w, c] = input.shape;
          const padded = tf.mirrorPad(
            input,
            [
              [0, 0],
              [r, r],
              [r, r],
              [0, 0],
            ],
            'reflect',
          );
          const window: tf.Tensor4D[] = [];
          for (let dy = 0; dy < size; dy++) {
            for (let dx = 0; dx < size; dx++) {
              window.push(tf.slice(padded, [0, dy, dx, 0], [n, h, w, c]));
            }
          }
          const stacked = tf.stack(window, 4);
          const half = (size * size + 1) / 2;
          // topk sorts descending: the last of the larger half is the median.
          const { values } = tf.topk(stacked, half, true);
          return tf.reshape(tf.slice(values, [0, 0, 0, 0, half - 1], [n, h, w, c, 1]), [n, h, w, c]);
        }),
      );
      return forward(x);
    },
  };
}
