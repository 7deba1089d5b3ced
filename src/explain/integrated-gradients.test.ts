import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import type { Classifier } from '../models/classifier.js';
import { explain } from './explain.js';
import { linearModel, sineWeights, smoothCnn, uniformInputs } from './test-utils/models.js';

const SHAPE: [number, number, number] = [2, 2, 3];
const D = 12;
let smooth: Classifier;

beforeAll(async () => {
  await initNodeBackend();
  smooth = smoothCnn();
});
afterAll(() => smooth.dispose());

describe('Integrated Gradients', () => {
  it('on a linear model from the black baseline: (x - b) * w exactly, completeness gap 0', async () => {
    // Bounds [-1, 1]: black is -1, not 0, as after a model's own normalization.
    const w = sineWeights(D * 2);
    const model = linearModel(SHAPE, w, Float32Array.from([0.5, -0.5]), [-1, 1]);
    const x = uniformInputs(3, SHAPE, 4, -1, 1);
    const a = await explain(model, 'ig', { x, target: 1, params: { steps: 4 } });
    const xs = x.dataSync();
    const maps = a.maps.dataSync();
    for (let n = 0; n < 3; n++) {
      for (let i = 0; i < D; i++) expect(maps[n * D + i]).toBeCloseTo((xs[n * D + i] + 1) * w[i * 2 + 1], 5);
      expect(a.details[n]).toMatchObject({ steps: 4, converged: true });
      expect(a.details[n].gap as number).toBeLessThan(1e-5);
    }
    tf.dispose([x, a.maps]);
    model.dispose();
  });

  it('doubles the steps of the inputs above the tolerance and reports steps and gap', async () => {
    const x = uniformInputs(2, smooth.inputShape as [number, number, number], 6);
    const coarse = await explain(smooth, 'ig', {
      x,
      params: { steps: 1, method: 'riemann-left', tolerance: 0 },
    });
    expect(coarse.details.map((d) => d.steps)).toEqual([1, 1]);
    const fine = await explain(smooth, 'ig', {
      x,
      params: { steps: 1, method: 'riemann-left', tolerance: 0.01, maxSteps: 1024 },
    });
    for (const d of fine.details) {
      expect(d.converged).toBe(true);
      expect(d.gap as number).toBeLessThanOrEqual(0.01);
      expect(d.steps as number).toBeGreaterThan(1);
    }
    // Gauss-Legendre reaches the same gap with far fewer points on this smooth path.
    const gauss = await explain(smooth, 'ig', { x, params: { steps: 2 } });
    for (let i = 0; i < 2; i++)
      expect(gauss.details[i].steps as number).toBeLessThan(fine.details[i].steps as number);
    // The reported gap is what the maps give.
    const sums = tf.tidy(() => tf.sum(tf.reshape(fine.maps, [2, -1]), 1).dataSync());
    for (let i = 0; i < 2; i++) {
      const d = fine.details[i];
      expect(sums[i] - (d.logitDelta as number)).toBeCloseTo(d.delta as number, 4);
    }
    tf.dispose([x, coarse.maps, fine.maps, gauss.maps]);
  });

  it('stops at maxSteps and says the gap was not reached', async () => {
    const x = uniformInputs(1, smooth.inputShape as [number, number, number], 7);
    const a = await explain(smooth, 'ig', {
      x,
      params: { steps: 1, maxSteps: 2, method: 'riemann-left', tolerance: 1e-9 },
    });
    expect(a.details[0]).toMatchObject({ steps: 2, converged: false });
    tf.dispose([x, a.maps]);
  });

  it('blur and seeded uniform baselines', async () => {
    const x = uniformInputs(2, smooth.inputShape as [number, number, number], 8);
    const u1 = await explain(smooth, 'ig', { x, seed: 5, params: { baseline: 'uniform' } });
    const u2 = await explain(smooth, 'ig', { x, seed: 5, params: { baseline: 'uniform' } });
    const u3 = await explain(smooth, 'ig', { x, seed: 6, params: { baseline: 'uniform' } });
    expect(Array.from(u1.maps.dataSync())).toEqual(Array.from(u2.maps.dataSync()));
    expect(Array.from(u1.maps.dataSync())).not.toEqual(Array.from(u3.maps.dataSync()));
    const blur = await explain(smooth, 'ig', { x, params: { baseline: 'blur', blurSigma: 1 } });
    for (const d of blur.details) expect(d.converged).toBe(true);
    tf.dispose([x, u1.maps, u2.maps, u3.maps, blur.maps]);
  });
});
