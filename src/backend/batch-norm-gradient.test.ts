import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { batchNormGradConfig } from './batch-norm-gradient.js';
import { initNodeBackend } from './node-backend.js';

/** The same function written with elementary ops, whose gradients tfjs-core defines. */
function batchNormByHand(
  x: tf.Tensor,
  mean: tf.Tensor,
  variance: tf.Tensor,
  scale: tf.Tensor,
  offset: tf.Tensor,
  eps: number,
) {
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), scale), offset);
}

function maxRelativeError(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.div(tf.abs(tf.sub(a, b)), tf.add(tf.abs(b), 1e-3))).arraySync() as number);
}

describe.each(['cpu', 'wasm'])('FusedBatchNorm gradient on %s', (backend) => {
  it('equals the gradient of the elementary-op formula for every input, without leaks', async () => {
    await initNodeBackend({ backend });
    expect(tf.getGradient(tf.FusedBatchNorm)).toBe(batchNormGradConfig);
    const eps = 1e-3;
    const x = tf.randomNormal([3, 5, 4, 6], 0, 1, 'float32', 1);
    const mean = tf.randomNormal([6], 0, 1, 'float32', 2);
    const variance = tf.randomUniform([6], 0.2, 2, 'float32', 3);
    const scale = tf.randomNormal([6], 1, 0.5, 'float32', 4);
    const offset = tf.randomNormal([6], 0, 1, 'float32', 5);
    const upstream = tf.randomNormal([3, 5, 4, 6], 0, 1, 'float32', 6);
    const before = tf.memory().numTensors;
    const loss =
      (f: (...t: tf.Tensor[]) => tf.Tensor) =>
      (...t: tf.Tensor[]) =>
        tf.sum(tf.mul(f(...t), upstream));
    const fused = tf.grads(
      loss((a, m, v, s, o) =>
        tf.batchNorm(a, m as tf.Tensor1D, v as tf.Tensor1D, o as tf.Tensor1D, s as tf.Tensor1D, eps),
      ),
    )([x, mean, variance, scale, offset]);
    const byHand = tf.grads(loss((a, m, v, s, o) => batchNormByHand(a, m, v, s, o, eps)))([
      x,
      mean,
      variance,
      scale,
      offset,
    ]);
    for (let i = 0; i < fused.length; i++) expect(maxRelativeError(fused[i], byHand[i])).toBeLessThan(1e-4);
    tf.dispose([...fused, ...byHand]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, mean, variance, scale, offset, upstream]);
  });
});
