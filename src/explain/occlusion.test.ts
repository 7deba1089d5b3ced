import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { explain } from './explain.js';
import { linearModel, sineWeights, uniformInputs } from './test-utils/models.js';

beforeAll(async () => {
  await initNodeBackend();
});

describe('occlusion', () => {
  it('on a linear model: the mean analytic logit drop of the windows covering each pixel', async () => {
    const [h, w, c] = [5, 4, 2];
    const weights = sineWeights(h * w * c * 2);
    const model = linearModel([h, w, c], weights, Float32Array.from([0, 0]));
    const x = uniformInputs(2, [h, w, c]);
    const xs = x.dataSync();
    const window = 2;
    const stride = 2;
    const a = await explain(model, 'occlusion', { x, target: 1, params: { window, stride, fill: 'black' } });
    expect(a.maps.shape).toEqual([2, h, w]);
    expect(a.cost.gradients).toBe(0);
    // Windows at rows 0, 2, 3 (the last one covers the border) and columns 0, 2.
    const windows = [0, 2, 3].flatMap((y) => [0, 2].map((x0) => [y, x0]));
    const maps = a.maps.dataSync();
    for (let n = 0; n < 2; n++) {
      const drop = (y0: number, x0: number): number => {
        let s = 0;
        for (let y = y0; y < y0 + window; y++)
          for (let x1 = x0; x1 < x0 + window; x1++)
            for (let k = 0; k < c; k++) {
              const i = (y * w + x1) * c + k;
              s += weights[i * 2 + 1] * (xs[n * h * w * c + i] - 0);
            }
        return s;
      };
      for (let y = 0; y < h; y++) {
        for (let x1 = 0; x1 < w; x1++) {
          const covering = windows.filter(
            ([y0, x0]) => y >= y0 && y < y0 + window && x1 >= x0 && x1 < x0 + window,
          );
          const expected = covering.reduce((s, [y0, x0]) => s + drop(y0, x0), 0) / covering.length;
          expect(maps[n * h * w + y * w + x1]).toBeCloseTo(expected, 4);
        }
      }
    }
    tf.dispose([x, a.maps]);
    model.dispose();
  });

  it('refuses a window larger than the image', async () => {
    const model = linearModel([4, 4, 1], sineWeights(32), Float32Array.from([0, 0]));
    const x = uniformInputs(1, [4, 4, 1]);
    await expect(explain(model, 'occlusion', { x, params: { window: 5 } })).rejects.toThrow(
      /window 5 is larger/,
    );
    x.dispose();
    model.dispose();
  });
});
