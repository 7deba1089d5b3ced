import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../errors.js';
import { field } from '../util/schema.js';
import { defineMethod } from './types.js';

/** Window offsets along one axis: every `stride` from 0, plus the last position so the border is covered. */
function offsets(size: number, window: number, stride: number): number[] {
  const out: number[] = [];
  for (let o = 0; o + window <= size; o += stride) out.push(o);
  if (out[out.length - 1] !== size - window) out.push(size - window);
  return out;
}

/**
 * Occlusion (Zeiler & Fergus 2014, "Visualizing and Understanding Convolutional Networks"): a square window of
 * a fill value slides over the input; each pixel's attribution is the mean, over the windows that cover it, of
 * the drop in the target logit, F(x) - F(x with the window filled). Forward passes only, so black-box and
 * served models can be explained too. Maps [n, h, w], signed (positive: the pixels supported the class).
 * The window defaults to 1/8 of the smaller image side and the stride to half the window.
 *
 * @example explain(model, occlusion, { x, params: { window: 4, stride: 2 } })
 */
export const occlusion = defineMethod({
  name: 'occlusion',
  title: 'Occlusion (Zeiler & Fergus 2014)',
  output: 'spatial',
  access: 'queries',
  schema: {
    window: field.integer({
      min: 1,
      description: 'side of the occluding square in pixels (default: 1/8 of the image)',
    }),
    stride: field.integer({
      min: 1,
      description: 'step between windows in pixels (default: half the window)',
    }),
    fill: field.choice(['grey', 'black', 'mean'] as const, {
      default: 'grey',
      description:
        "what the window holds: 'grey' (mid-range), 'black' (the lower bound) or 'mean' (the image's mean)",
    }),
  },
  run: async (ctx, p) => {
    const [n, h, w, c] = ctx.x.shape;
    const window = p.window ?? Math.max(1, Math.round(Math.min(h, w) / 8));
    if (window > Math.min(h, w)) {
      throw invalidArgument(`occlusion: window ${window} is larger than the image (${h}x${w}).`);
    }
    const stride = p.stride ?? Math.max(1, Math.floor(window / 2));
    const windows = offsets(h, window, stride).flatMap((y) => offsets(w, window, stride).map((x) => [y, x]));
    const [lo, hi] = ctx.model.bounds;
    const rows = Int32Array.from({ length: n }, (_, i) => i);
    const clean = ctx.targetLogits(ctx.x, rows);
    const base = clean.dataSync().slice();
    clean.dispose();
    const fill = tf.tidy(() =>
      p.fill === 'mean'
        ? tf.mean(ctx.x, [1, 2, 3], true)
        : tf.fill([n, 1, 1, 1], p.fill === 'black' ? lo : (lo + hi) / 2),
    );
    const sums = new Float64Array(n * h * w);
    const counts = new Float64Array(h * w);
    const perPass = Math.max(1, Math.floor(ctx.batchSize / n));
    try {
      for (let k0 = 0; k0 < windows.length; k0 += perPass) {
        const chunk = windows.slice(k0, k0 + perPass);
        const m = chunk.length;
        const mask = new Float32Array(m * h * w);
        chunk.forEach(([y0, x0], k) => {
          for (let y = y0; y < y0 + window; y++)
            mask.fill(1, k * h * w + y * w + x0, k * h * w + y * w + x0 + window);
        });
        const occluded = tf.tidy(() => {
          const m5 = tf.tensor(mask, [m, 1, h, w, 1]);
          const x5 = tf.expandDims(ctx.x, 0);
          const f5 = tf.expandDims(fill, 0);
          return tf.reshape(tf.add(tf.mul(x5, tf.sub(1, m5)), tf.mul(f5, m5)), [
            m * n,
            h,
            w,
            c,
          ]) as tf.Tensor4D;
        });
        const copies = new Int32Array(m * n);
        for (let k = 0; k < m; k++) copies.set(rows, k * n);
        const logits = ctx.targetLogits(occluded, copies);
        const values = logits.dataSync();
        tf.dispose([occluded, logits]);
        chunk.forEach(([y0, x0], k) => {
          for (let y = y0; y < y0 + window; y++) {
            for (let x = x0; x < x0 + window; x++) {
              counts[y * w + x] += 1;
              for (let i = 0; i < n; i++) sums[i * h * w + y * w + x] += base[i] - values[k * n + i];
            }
          }
        });
        await ctx.yieldStep(k0 + m, windows.length);
      }
    } finally {
      fill.dispose();
    }
    const maps = new Float32Array(n * h * w);
    for (let i = 0; i < maps.length; i++) maps[i] = sums[i] / counts[i % (h * w)];
    return {
      maps: tf.tensor3d(maps, [n, h, w]),
      details: Array.from({ length: n }, () => ({ window, stride })),
    };
  },
});
