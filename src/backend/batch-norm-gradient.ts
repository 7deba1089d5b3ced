import * as tf from '@tensorflow/tfjs-core';

/**
 * The gradient of FusedBatchNorm (y = (x - mean) * rsqrt(variance + eps) * scale + offset), written with
 * broadcasting products and one reduction per statistic. tfjs-core's own version expands rsqrt(variance)
 * to the full input shape with Tile, which on wasm cost more than all the convolutions of a conv-BN net.
 * The values are the same; only the ops differ.
 */
export const batchNormGradConfig: tf.GradConfig = {
  kernelName: tf.FusedBatchNorm,
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy, saved, attrs) => {
    const varianceEpsilon = Number(attrs.varianceEpsilon);
    const [x, mean, variance, scale] = saved;
    const dyT = Array.isArray(dy) ? dy[0] : dy;
    const axes = reductionAxes(mean.shape, x.shape);
    const reduce = (t: tf.Tensor): tf.Tensor => tf.reshape(axes.length > 0 ? tf.sum(t, axes) : t, mean.shape);
    const scaleValue = scale ?? tf.scalar(1);
    const rs = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const centered = tf.sub(x, mean);
    return {
      x: () => tf.mul(dyT, tf.mul(rs, scaleValue)),
      mean: () => tf.mul(tf.neg(tf.mul(rs, scaleValue)), reduce(dyT)),
      variance: () =>
        tf.mul(
          tf.mul(tf.scalar(-0.5), tf.mul(tf.mul(tf.mul(rs, rs), rs), scaleValue)),
          reduce(tf.mul(centered, dyT)),
        ),
      scale: () => tf.mul(rs, reduce(tf.mul(centered, dyT))),
      offset: () => reduce(dyT),
    };
  },
};

/** Axes of x over which a statistic of shape `statShape` (broadcast against x) was taken. */
function reductionAxes(statShape: number[], xShape: number[]): number[] {
  const axes: number[] = [];
  const offset = xShape.length - statShape.length;
  for (let i = 0; i < xShape.length; i++) {
    const statDim = i < offset ? 1 : statShape[i - offset];
    if (statDim === 1 && xShape[i] !== 1) axes.push(i);
  }
  return axes;
}

let registered = false;

/** Replace tfjs-core's FusedBatchNorm gradient with the one above, for every backend. Idempotent. */
export function registerBatchNormGradient(): void {
  if (registered) return;
  tf.registerGradient(batchNormGradConfig);
  registered = true;
}
