import * as tf from '@tensorflow/tfjs-core';

/**
 * The one place where data becomes a model's inputs. Pixels are bytes 0..255; a model's inputs live in its
 * bounds, so byte 0 maps to the lower bound and 255 to the upper one ([0, 1], [-1, 1] and [0, 255] models all
 * get the image they were trained on). Browser-safe: the tasks and the playground's worker both call it.
 */
export function pixelsToInputs(
  pixels: Uint8Array,
  shape: readonly [number, number, number, number],
  bounds: readonly [number, number],
): tf.Tensor4D {
  const [lo, hi] = bounds;
  const scale = (hi - lo) / 255;
  const values = new Float32Array(pixels.length);
  for (let i = 0; i < values.length; i++) values[i] = lo + pixels[i] * scale;
  return tf.tensor4d(values, [...shape], 'float32');
}
