import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../../errors.js';
import { checkNumber, type Transform } from './transform.js';

/** The largest growth: the image may be enlarged by at most this fraction of its side. */
export const MAX_RESIZE_PAD_RATIO = 1;

/**
 * Random resizing and padding (Xie, Wang, Zhang, Ren & Yuille 2018, "Mitigating Adversarial Effects Through
 * Randomization"): the image of side h is resized to a random side h + e, e uniform in {0, ..., round(ratio * h)},
 * then padded at a random place with the lower bound to h + round(ratio * h) (their 299 -> [299, 331) -> 331 is
 * ratio 0.107). The paper feeds the padded image to the network; advkit's models take a fixed input size, so the
 * result is resized back to h x w (bilinear, as the first resize). The width follows the height's proportion.
 * Each image of a batch gets its own draw of size and offset, as in the paper. Every step is bilinear resizing or padding, so the transform is differentiable as it
 * is; being random, it must be attacked with EOT (Athalye et al. 2018, Section 4.3, break it that way).
 * Example: `randomResizePad(0.1)`.
 */
export function randomResizePad(ratio: number): Transform {
  checkNumber('resize-pad ratio (largest growth as a fraction of the side)', ratio, 0, MAX_RESIZE_PAD_RATIO);
  return {
    name: 'resize-pad',
    params: { ratio },
    spec: `resize-pad:${ratio}`,
    differentiable: true,
    random: true,
    apply(x, { bounds: [lo, hi], rng }) {
      if (rng === undefined) {
        throw invalidArgument('resize-pad is random: apply() needs a seeded rng in its context.');
      }
      const [n, h, w] = x.shape;
      const padH = Math.round(ratio * h);
      const padW = Math.round(ratio * w);
      const steps = Math.max(padH, padW);
      if (steps === 0) return tf.clone(x);
      // One draw per image, in batch order (so a seed gives the same draws whatever else the batch holds after it).
      const draws = Array.from({ length: n }, () => {
        const u = rng.int(steps + 1) / steps;
        const growH = Math.round(u * padH);
        const growW = Math.round(u * padW);
        return { growH, growW, top: rng.int(padH - growH + 1), left: rng.int(padW - growW + 1) };
      });
      return tf.tidy(() => {
        const images: tf.Tensor4D[] = n === 1 ? [x] : tf.split(x, n, 0);
        const out = images.map((image, i) => {
          const { growH, growW, top, left } = draws[i];
          // halfPixelCenters stays false: tfjs-backend-wasm's ResizeBilinearGrad ignores it (its gradient is that
          // of the corner-aligned resize, 20x off on a 7 -> 9 resize), and a wrong gradient would understate the
          // attack.
          const resized = tf.image.resizeBilinear(image, [h + growH, w + growW]);
          const padded = tf.pad(
            resized,
            [
              [0, 0],
              [top, padH - growH - top],
              [left, padW - growW - left],
              [0, 0],
            ],
            lo,
          );
          return tf.image.resizeBilinear(padded, [h, w]);
        });
        const back: tf.Tensor4D = out.length === 1 ? out[0] : tf.concat(out, 0);
        return tf.clipByValue(back, lo, hi);
      });
    },
  };
}
