import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '../util/schema.js';
import { field } from '../util/schema.js';
import { repeatedRows } from './attribution-context.js';
import { defineMethod, type AttributionContext, type MethodOutput } from './types.js';

const schema = {
  sigma: field.number({
    default: 0.15,
    min: 0,
    description:
      'noise standard deviation as a fraction of the input range (max - min); Smilkov et al. use 0.1-0.2',
  }),
  samples: field.integer({ default: 50, min: 1, description: 'noisy copies averaged per input' }),
  base: field.choice(['saliency', 'gradient-x-input'] as const, {
    default: 'saliency',
    description: 'the attribution averaged over the noisy copies',
  }),
};

/**
 * The noise tunnel: the mean of `base` over `samples` copies of x with Gaussian noise of standard deviation
 * sigma * (max - min) added, or the mean of its squares. The noisy copies are not clipped to the bounds, as in
 * the paper and in Captum's NoiseTunnel. Copies of several inputs share a pass up to ctx.batchSize rows.
 */
async function noiseTunnel(
  ctx: AttributionContext,
  p: Params<typeof schema>,
  squared: boolean,
): Promise<MethodOutput> {
  const [n, h, w, c] = ctx.x.shape;
  const [lo, hi] = ctx.model.bounds;
  const std = p.sigma * (hi - lo);
  const perPass = Math.max(1, Math.min(p.samples, Math.floor(ctx.batchSize / n)));
  let sum: tf.Tensor4D = tf.zerosLike(ctx.x);
  try {
    for (let done = 0; done < p.samples; done += perPass) {
      const copies = Math.min(perPass, p.samples - done);
      const noise = new Float32Array(copies * ctx.x.size);
      const size = ctx.x.size / n;
      // Each input's noise comes from its own stream, sample after sample, however the copies are batched.
      for (let k = 0; k < copies; k++) {
        for (let i = 0; i < n; i++) {
          const rng = ctx.rowRng(i);
          const start = (k * n + i) * size;
          for (let j = start; j < start + size; j++) noise[j] = std * rng.normal();
        }
      }
      const rows = repeatedRows(n, copies);
      const noisy = tf.tidy(() =>
        tf.add<tf.Tensor4D>(tf.tile(ctx.x, [copies, 1, 1, 1]), tf.tensor4d(noise, [copies * n, h, w, c])),
      );
      const { logit, grad } = ctx.targetGradient(noisy, rows);
      const next = tf.tidy(() => {
        let attribution: tf.Tensor4D =
          p.base === 'gradient-x-input' ? tf.mul<tf.Tensor4D>(grad, noisy) : grad;
        if (squared) attribution = tf.square(attribution);
        return tf.add<tf.Tensor4D>(sum, tf.sum(tf.reshape(attribution, [copies, n, h, w, c]), 0));
      });
      tf.dispose([noisy, logit, grad, sum]);
      sum = next;
      await ctx.yieldStep(done + copies, p.samples);
    }
    return { maps: tf.div(sum, p.samples) };
  } finally {
    sum.dispose();
  }
}

/**
 * SmoothGrad (Smilkov, Thorat, Kim, Viégas & Wattenberg 2017, "SmoothGrad: removing noise by adding noise"):
 * the mean of the target logit's gradient over noisy copies of the input (sigma 0.15 of the input range and 50
 * samples by default, the paper's recommended range). Raw and signed, [n, h, w, c]. With sigma -> 0 it is the
 * saliency map.
 *
 * @example explain(model, smoothGrad, { x, params: { sigma: 0.15, samples: 50 } })
 */
export const smoothGrad = defineMethod({
  name: 'smoothgrad',
  title: 'SmoothGrad (Smilkov et al. 2017)',
  output: 'pixel',
  access: 'gradients',
  schema,
  run: (ctx, p) => noiseTunnel(ctx, p, false),
});

/**
 * SmoothGrad-squared (Hooker, Erhan, Kindermans & Kim 2019, "A Benchmark for Interpretability Methods in Deep
 * Neural Networks"): the mean of the squared gradients over the same noisy copies as SmoothGrad; non-negative.
 *
 * @example explain(model, smoothGradSquared, { x })
 */
export const smoothGradSquared = defineMethod({
  name: 'smoothgrad-sq',
  title: 'SmoothGrad-squared (Hooker et al. 2019)',
  output: 'pixel',
  access: 'gradients',
  schema,
  run: (ctx, p) => noiseTunnel(ctx, p, true),
});
