import * as tf from '@tensorflow/tfjs-core';
import { allRows } from '../util/rows.js';
import { defineMethod } from './types.js';

/**
 * Gradient saliency (Simonyan, Vedaldi & Zisserman 2014, "Deep Inside Convolutional Networks: Visualising Image
 * Classification Models and Saliency Maps"): the gradient of the target class's logit with respect to the
 * input, d logit_t / d x, raw and signed ([n, h, w, c]); figures show its absolute value, channel-maximized.
 *
 * @example explain(model, saliency, { x })
 */
export const saliency = defineMethod({
  name: 'saliency',
  title: 'Gradient saliency (Simonyan et al. 2014)',
  output: 'pixel',
  access: 'gradients',
  schema: {},
  run: (ctx) => {
    const { logit, grad } = ctx.targetGradient(ctx.x, allRows(ctx.x.shape[0]));
    logit.dispose();
    return Promise.resolve({ maps: grad });
  },
});

/**
 * Gradient x input (Shrikumar, Greenside, Shcherbina & Kundaje 2016, "Not Just a Black Box: Learning Important
 * Features Through Propagating Activation Differences"): x * d logit_t / d x, in pixel space. For a linear model
 * it is each input value's exact contribution to the logit (bias aside).
 *
 * @example explain(model, gradientXInput, { x })
 */
export const gradientXInput = defineMethod({
  name: 'gradient-x-input',
  title: 'Gradient x input (Shrikumar et al. 2016)',
  output: 'pixel',
  access: 'gradients',
  schema: {},
  run: (ctx) => {
    const { logit, grad } = ctx.targetGradient(ctx.x, allRows(ctx.x.shape[0]));
    const maps = tf.mul(grad, ctx.x);
    tf.dispose([logit, grad]);
    return Promise.resolve({ maps });
  },
});
