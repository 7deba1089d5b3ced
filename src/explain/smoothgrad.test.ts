import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import type { Classifier } from '../models/classifier.js';
import { explain } from './explain.js';
import { smoothCnn, uniformInputs } from './test-utils/models.js';

let model: Classifier;
let x: tf.Tensor4D;

beforeAll(async () => {
  await initNodeBackend();
  model = smoothCnn();
  x = uniformInputs(2, model.inputShape as [number, number, number], 9);
});
afterAll(() => {
  model.dispose();
  x.dispose();
});

const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());

describe('SmoothGrad', () => {
  it('with sigma -> 0 equals saliency (and its square for SmoothGrad-squared)', async () => {
    const plain = await explain(model, 'saliency', { x });
    const expected = values(plain.maps);
    for (const sigma of [0, 1e-5]) {
      const sg = await explain(model, 'smoothgrad', { x, params: { sigma, samples: 4 } });
      const sq = await explain(model, 'smoothgrad-sq', { x, params: { sigma, samples: 4 } });
      values(sg.maps).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 4));
      values(sq.maps).forEach((v, i) => expect(v).toBeCloseTo(expected[i] ** 2, 4));
      expect(sg.cost.gradients).toBe(8);
      tf.dispose([sg.maps, sq.maps]);
    }
    plain.maps.dispose();
  });

  it('averages gradient x input when asked, and the noise changes the map', async () => {
    const gxi = await explain(model, 'gradient-x-input', { x });
    const sg = await explain(model, 'smoothgrad', {
      x,
      params: { sigma: 0, samples: 2, base: 'gradient-x-input' },
    });
    values(sg.maps).forEach((v, i) => expect(v).toBeCloseTo(values(gxi.maps)[i], 4));
    const noisy = await explain(model, 'smoothgrad', { x, params: { samples: 8 } });
    const plain = await explain(model, 'saliency', { x });
    expect(values(noisy.maps)).not.toEqual(values(plain.maps));
    tf.dispose([gxi.maps, sg.maps, noisy.maps, plain.maps]);
  });

  it('is seeded: the same seed gives the same map, another seed another one', async () => {
    const run = (seed: number) => explain(model, 'smoothgrad', { x, seed, params: { samples: 6 } });
    const [a, b, c] = [await run(1), await run(1), await run(2)];
    expect(values(a.maps)).toEqual(values(b.maps));
    expect(values(a.maps)).not.toEqual(values(c.maps));
    tf.dispose([a.maps, b.maps, c.maps]);
  });
});
