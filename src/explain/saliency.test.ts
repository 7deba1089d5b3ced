import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import type { Classifier } from '../models/classifier.js';
import { explain } from './explain.js';
import { linearModel, sineWeights, smoothCnn, uniformInputs } from './test-utils/models.js';

const SHAPE: [number, number, number] = [3, 3, 2];
const D = 18;
const K = 3;
let linear: Classifier;
let smooth: Classifier;

beforeAll(async () => {
  await initNodeBackend();
  linear = linearModel(SHAPE, sineWeights(D * K), Float32Array.from([0.1, -0.2, 0.3]));
  smooth = smoothCnn();
});
afterAll(() => {
  linear.dispose();
  smooth.dispose();
});

/** Column t of the [D, K] weight matrix. */
function column(t: number): number[] {
  const w = sineWeights(D * K);
  return Array.from({ length: D }, (_, i) => w[i * K + t]);
}

describe('saliency and gradient x input', () => {
  it('on a linear model: the weight row of the target class, and x times it', async () => {
    const x = uniformInputs(2, SHAPE);
    const xs = x.dataSync();
    for (const target of [0, 2]) {
      const s = await explain(linear, 'saliency', { x, target });
      const g = await explain(linear, 'gradient-x-input', { x, target });
      const sv = s.maps.dataSync();
      const gv = g.maps.dataSync();
      expect(s.maps.shape).toEqual([2, ...SHAPE]);
      for (let n = 0; n < 2; n++) {
        column(target).forEach((w, i) => {
          expect(sv[n * D + i]).toBeCloseTo(w, 5);
          expect(gv[n * D + i]).toBeCloseTo(w * xs[n * D + i], 5);
        });
      }
      expect(Array.from(s.targets)).toEqual([target, target]);
      expect(s.cost.gradients).toBe(2);
      tf.dispose([s.maps, g.maps]);
    }
    x.dispose();
  });

  it('matches central finite differences of the target logit on a smooth CNN', async () => {
    const x = uniformInputs(1, smooth.inputShape as [number, number, number], 5);
    const s = await explain(smooth, 'saliency', { x, target: 1 });
    const grad = s.maps.dataSync();
    const base = x.dataSync();
    const h = 1e-2;
    const logit = (values: Float32Array): number =>
      tf.tidy(() => smooth.logits(tf.tensor4d(values, x.shape)).dataSync()[1]);
    for (const i of [0, 7, 31, 50, 71]) {
      const plus = base.slice();
      const minus = base.slice();
      plus[i] += h;
      minus[i] -= h;
      const fd = (logit(plus as Float32Array) - logit(minus as Float32Array)) / (2 * h);
      expect(grad[i]).toBeCloseTo(fd, 2);
    }
    tf.dispose([x, s.maps]);
  });
});
