import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError } from '../../errors.js';
import type { RenderPlan } from './placement.js';

/** A render plan's index and weight arrays as tensors, made once per batch and disposed by the caller. */
export interface PlanTensors {
  plan: RenderPlan;
  /** [m, 1] flat output pixels. */
  pixels: tf.Tensor2D;
  /** [4m] flat patch pixels. */
  sources: tf.Tensor1D;
  /** [4m, 1] bilinear weights times the mask. */
  weights: tf.Tensor2D;
  /** [n, h, w, 1] how much of each output pixel the patch covers. */
  coverage: tf.Tensor4D;
  dispose(): void;
}

export function planTensors(plan: RenderPlan): PlanTensors {
  const m = plan.pixels.length;
  const pixels = tf.tensor2d(plan.pixels, [m, 1], 'int32');
  const sources = tf.tensor1d(plan.sources, 'int32');
  const weights = tf.tensor2d(plan.weights, [4 * m, 1]);
  const coverage = tf.tensor4d(plan.coverage, [plan.batch, plan.height, plan.width, 1]);
  return {
    plan,
    pixels,
    sources,
    weights,
    coverage,
    dispose: () => tf.dispose([pixels, sources, weights, coverage]),
  };
}

/**
 * images * (1 - coverage) + the patch resampled into place: each output pixel a convex mix of the image and
 * the patch, so the result stays within bounds both hold. Differentiable in `patch` on every backend: the
 * resampling is a gather with fixed weights whose gradient is written out here as the matching scatter-add
 * (tfjs's own gather gradient needs UnsortedSegmentSum, which the wasm backend lacks).
 */
export function pastePatch(images: tf.Tensor4D, patch: tf.Tensor3D, t: PlanTensors): tf.Tensor4D {
  const { batch: n, height: h, width: w, patchSide: side } = t.plan;
  const c = patch.shape[2];
  const m = t.plan.pixels.length;
  const resample = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [table, save] = args;
    if (!(table instanceof tf.Tensor) || typeof save !== 'function') {
      throw new AdvkitError(
        'INTERNAL',
        'customGrad called the patch resampler without its input and save function.',
      );
    }
    // Saved (kept by the engine until the backward pass) so the caller may dispose the plan right away.
    save([t.pixels, t.sources, t.weights]);
    const value = tf.tidy((): tf.Tensor2D => {
      if (m === 0) return tf.zeros([n * h * w, c]);
      const taps = tf.mul(tf.gather(table, t.sources), t.weights);
      const mixed = tf.sum(tf.reshape(taps, [4, m, c]), 0);
      return tf.scatterND(t.pixels, mixed, [n * h * w, c]);
    });
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor =>
      tf.tidy(() => {
        const [pixels, sources, weights] = saved;
        if (m === 0) return tf.zeros([side * side, c]);
        const atPixels = tf.gatherND(tf.reshape(dy, [n * h * w, c]), pixels);
        const spread = tf.mul(tf.reshape(atPixels, [1, m, c]), tf.reshape(weights, [4, m, 1]));
        // scatterND adds up repeated indices: every output pixel that sampled a patch pixel contributes.
        return tf.scatterND(tf.reshape(sources, [4 * m, 1]), tf.reshape(spread, [4 * m, c]), [
          side * side,
          c,
        ]);
      });
    return { value, gradFunc };
  });
  return tf.tidy((): tf.Tensor4D => {
    const drawn = tf.reshape(resample(tf.reshape(patch, [side * side, c])), [n, h, w, c]);
    return tf.add(tf.mul(images, tf.sub(1, t.coverage)), drawn);
  });
}
