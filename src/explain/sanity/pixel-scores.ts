import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../../errors.js';

/**
 * How a map becomes one score per pixel: 'abs' sums |values| over the channels of a pixel map and takes |value|
 * of a spatial one; 'signed' sums the values over the channels, and leaves a spatial map as it is.
 */
export type PixelReduction = 'abs' | 'signed';

/**
 * Checks that `maps` are attribution maps of inputs of shape [n, h, w, c]: pixel maps [n, h, w, c] or spatial
 * maps [n, h, w]. `what` names the caller in the message.
 */
export function checkMaps(maps: tf.Tensor, inputShape: readonly number[], what: string): void {
  const [n, h, w, c] = inputShape;
  const pixel = maps.rank === 4 && maps.shape.every((d, i) => d === inputShape[i]);
  const spatial = maps.rank === 3 && maps.shape[0] === n && maps.shape[1] === h && maps.shape[2] === w;
  if (!pixel && !spatial) {
    throw invalidArgument(
      `${what}: maps of shape [${maps.shape.join(', ')}] do not fit inputs of shape [${inputShape.join(', ')}]; ` +
        `expected pixel maps [${n}, ${h}, ${w}, ${c}] or spatial maps [${n}, ${h}, ${w}].`,
    );
  }
}

/**
 * One score per pixel and input, [n * h * w] row-major (input after input), read back from `maps` ([n, h, w, c]
 * or [n, h, w]; checked by the caller). Pixel maps are reduced over their channels as `reduce` says.
 */
export function pixelScores(maps: tf.Tensor, reduce: PixelReduction): Float32Array {
  const scores = tf.tidy(() => {
    const m = tf.cast(maps, 'float32');
    if (m.rank === 3) return reduce === 'abs' ? tf.abs(m) : m.clone();
    return tf.sum(reduce === 'abs' ? tf.abs(m) : m, 3);
  });
  const out = scores.dataSync() as Float32Array;
  scores.dispose();
  return out;
}
