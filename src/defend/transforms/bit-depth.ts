import * as tf from '@tensorflow/tfjs-core';
import { bpdaIdentity, checkInteger, type Transform } from './transform.js';

/**
 * Bit-depth reduction (Xu, Evans & Qi 2018, "Feature Squeezing: Detecting Adversarial Examples in Deep Neural
 * Networks", Section 4.1): each value, mapped onto [0, 1] by the bounds, is rounded to one of 2^bits levels.
 * bits 8 is the identity on byte-valued images (k/255 on [0, 1], k on [0, 255]). Rounding has a zero gradient
 * almost everywhere, so the backward pass is BPDA's identity (Athalye et al. 2018). Example: `bitDepth(4)`.
 */
export function bitDepth(bits: number): Transform {
  checkInteger('bits (bit depth)', bits, 1, 16);
  const levels = 2 ** bits - 1;
  return {
    name: 'bits',
    params: { bits },
    spec: `bits:${bits}`,
    differentiable: false,
    random: false,
    apply(x, { bounds: [lo, hi] }) {
      const forward = bpdaIdentity((input) =>
        tf.tidy(() => {
          const k = tf.round(tf.mul(tf.div(tf.sub(input, lo), hi - lo), levels));
          // (k * range) / levels rather than k * (range / levels): exact on byte values for [0, 1] and [0, 255].
          const out = tf.add(tf.div(tf.mul(k, hi - lo), levels), lo);
          return tf.clipByValue(out, lo, hi) as tf.Tensor4D;
        }),
      );
      return forward(x);
    },
  };
}
