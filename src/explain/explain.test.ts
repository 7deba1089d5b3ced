import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import type { Classifier } from '../models/classifier.js';
import { explain } from './explain.js';
import { METHODS } from './registry.js';
import { smoothCnn, uniformInputs } from './test-utils/models.js';

/** Cheap settings so that every method runs in milliseconds. */
const FAST: Record<string, Record<string, unknown>> = {
  smoothgrad: { samples: 5 },
  'smoothgrad-sq': { samples: 5 },
  ig: { steps: 4, baseline: 'uniform', tolerance: 0.05 },
  occlusion: { window: 3, stride: 2 },
};

let model: Classifier;
let x: tf.Tensor4D;

beforeAll(async () => {
  await initNodeBackend();
  model = smoothCnn(6, 2);
  x = uniformInputs(5, [6, 6, 2], 11);
});
afterAll(() => {
  model.dispose();
  x.dispose();
});

describe('explain', () => {
  it.each(METHODS.map((m) => m.name))(
    '%s: batches give the inputs one by one results, seeded, leak-free',
    async (name) => {
      const before = tf.memory().numTensors;
      const all = await explain(model, name, { x, params: FAST[name], seed: 3, batchSize: 12 });
      const expected = all.output === 'pixel' ? [5, 6, 6, 2] : [5, 6, 6];
      expect(all.maps.shape).toEqual(expected);
      const whole = Array.from(all.maps.dataSync());
      const single = await explain(model, name, { x, params: FAST[name], seed: 3, batchSize: 1 });
      Array.from(single.maps.dataSync()).forEach((v, j) => expect(v).toBeCloseTo(whole[j], 4));
      expect(single.details).toEqual(
        all.details.map((d) =>
          expect.objectContaining(Object.fromEntries(Object.keys(d).map((k) => [k, expect.anything()]))),
        ),
      );
      expect(Array.from(single.predictions)).toEqual(Array.from(all.predictions));
      const again = await explain(model, name, { x, params: FAST[name], seed: 3, batchSize: 12 });
      expect(Array.from(again.maps.dataSync())).toEqual(whole);
      tf.dispose([all.maps, single.maps, again.maps]);
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('explains the predicted class by default, or the label, a class name or one class per input', async () => {
    const pred = await explain(model, 'saliency', { x });
    const byLabel = await explain(model, 'saliency', { x, target: 'label', labels: [0, 1, 2, 0, 1] });
    const byName = await explain(model, 'saliency', { x, target: 'class2' });
    const perInput = await explain(model, 'saliency', { x, target: [2, 1, 0, 2, 1] });
    expect(Array.from(pred.targets)).toEqual(Array.from(pred.predictions));
    expect(Array.from(byLabel.targets)).toEqual([0, 1, 2, 0, 1]);
    expect(Array.from(byName.targets)).toEqual([2, 2, 2, 2, 2]);
    expect(Array.from(perInput.targets)).toEqual([2, 1, 0, 2, 1]);
    tf.dispose([pred.maps, byLabel.maps, byName.maps, perInput.maps]);
  });

  it('says what was wrong with bad input, before any work and without leaks', async () => {
    const before = tf.memory().numTensors;
    await expect(explain(model, 'saliency', { x, target: 'zebra' })).rejects.toThrow(
      /Unknown target class 'zebra'.*0 class0, 1 class1, 2 class2/,
    );
    await expect(explain(model, 'saliency', { x, target: 7 })).rejects.toThrow(
      /Target class 7 does not exist/,
    );
    await expect(explain(model, 'saliency', { x, target: 'label' })).rejects.toThrow(
      /needs the inputs' labels/,
    );
    await expect(explain(model, 'lime', { x })).rejects.toThrow(
      /Unknown explanation method 'lime'.*saliency.*gradcam/,
    );
    await expect(explain(model, 'smoothgrad', { x, params: { samples: 0 } })).rejects.toThrow(/samples/);
    await expect(explain(model, 'ig', { x, params: { stpes: 3 } })).rejects.toThrow(/stpes/);
    const wrong = tf.zeros([1, 5, 5, 2]) as tf.Tensor4D;
    await expect(explain(model, 'saliency', { x: wrong })).rejects.toThrow(
      /shape \[n, 6, 6, 2\], got \[1, 5, 5, 2\]/,
    );
    wrong.dispose();
    await expect(explain(model, 'saliency', { x, batchSize: 0 })).rejects.toThrow(/batchSize/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reports progress and stops when cancelled, leaving nothing behind', async () => {
    const fractions: number[] = [];
    const a = await explain(model, 'saliency', {
      x,
      batchSize: 2,
      onProgress: (p) => fractions.push(p.fraction),
    });
    expect(fractions[fractions.length - 1]).toBe(1);
    a.maps.dispose();
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    controller.abort();
    await expect(explain(model, 'ig', { x, signal: controller.signal })).rejects.toMatchObject({
      code: 'ABORTED',
    });
    const late = new AbortController();
    const run = explain(model, 'smoothgrad', {
      x,
      batchSize: 2,
      signal: late.signal,
      onProgress: () => late.abort(),
    });
    await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
    expect(tf.memory().numTensors).toBe(before);
  });
});
