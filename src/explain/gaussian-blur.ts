import * as tf from '@tensorflow/tfjs-core';

/** A normalized 1-D Gaussian kernel of standard deviation sigma, radius ceil(3 sigma) (at most maxRadius). */
function gaussianKernel(sigma: number, maxRadius: number): Float32Array {
  const radius = Math.max(0, Math.min(Math.ceil(3 * sigma), maxRadius));
  const k = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    k[i + radius] = v;
    sum += v;
  }
  return k.map((v) => v / sum);
}

/**
 * Gaussian blur of an NHWC batch, separable, with mirrored borders (so that edges keep their brightness); the
 * kernel radius is ceil(3 sigma), capped below the image size. sigma <= 0 returns a copy.
 */
export function gaussianBlur(x: tf.Tensor4D, sigma: number): tf.Tensor4D {
  const [, h, w, c] = x.shape;
  if (sigma <= 0) return tf.clone(x);
  return tf.tidy(() => {
    const kernel = gaussianKernel(sigma, Math.min(h, w) - 1);
    const r = (kernel.length - 1) / 2;
    const padded = tf.mirrorPad(
      x,
      [
        [0, 0],
        [r, r],
        [r, r],
        [0, 0],
      ],
      'reflect',
    );
    const column = tf.tile(tf.tensor4d(kernel, [kernel.length, 1, 1, 1]), [1, 1, c, 1]);
    const row = tf.reshape(column, [1, kernel.length, c, 1]) as tf.Tensor4D;
    const vertical = tf.depthwiseConv2d(padded, column as tf.Tensor4D, 1, 'valid');
    return tf.depthwiseConv2d(vertical, row, 1, 'valid');
  });
}
