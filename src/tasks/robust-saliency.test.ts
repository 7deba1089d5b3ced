import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { realDataRoot } from '../data/test-utils/real-data.js';
import { caughtAdvkitError } from '../data/test-utils/scratch.js';
import type { FaithfulnessCurve } from '../explain/sanity/faithfulness.js';
import { curveScore, edgeMaps, meanSe, robustSaliencyTask } from './robust-saliency.js';

/** The robust-saliency task from plain JSON specs on the bundled CIFAR-10 CNNs, on a handful of images. */
beforeAll(async () => {
  process.env.ADVKIT_DATA = realDataRoot();
  await initNodeBackend();
});

const tiny = { n: 6, samples: 3, steps: 4, pictures: 2 };

describe('robust-saliency task', () => {
  it('runs from a JSON spec: four maps scored two ways, the picture, no tensor left behind', async () => {
    const before = tf.memory().numTensors;
    const spec: unknown = JSON.parse(JSON.stringify(tiny));
    const { result, artifacts } = await robustSaliencyTask.run(spec as Record<string, unknown>);
    expect(result).toMatchObject({
      task: 'robust-saliency',
      schemaVersion: 1,
      target: 'label',
      data: { name: 'cifar10', split: 'test', n: 6 },
      models: { standard: { name: 'cifar-cnn' }, robust: { name: 'cifar-cnn-robust' } },
      faithfulness: { steps: 4, deletionBaseline: 'blur', insertionStart: 'blur', randomOrders: 1 },
    });
    expect(result.maps.map((m) => m.id)).toEqual([
      'standard-saliency',
      'standard-smoothgrad',
      'robust-saliency',
      'robust-smoothgrad',
    ]);
    const [saliency, smooth] = result.maps;
    expect(saliency.gradients).toBe(6);
    expect(smooth.gradients).toBe(18);
    expect(smooth.params).toEqual({ sigma: 0.15, samples: 3, base: 'saliency' });
    for (const m of result.maps) {
      expect(m.perImage.edgeAlignment).toHaveLength(6);
      for (const r of m.perImage.edgeAlignment) expect(Math.abs(r)).toBeLessThanOrEqual(1);
      expect(m.edgeAlignment.n).toBe(6);
      for (const curve of [m.deletion, m.insertion]) {
        expect(curve.beatsRandom).toBeGreaterThanOrEqual(0);
        expect(curve.beatsRandom).toBeLessThanOrEqual(1);
        expect(Number.isFinite(curve.auc)).toBe(true);
      }
      expect(m.gainOverRandom).toBeCloseTo(
        m.insertion.auc - m.deletion.auc - (m.insertion.random - m.deletion.random),
        10,
      );
      expect(result.models[m.model].random.deletion).toHaveLength(6);
    }
    // One random order per model: both maps of a model are measured against the same one.
    expect(smooth.deletion.random).toBe(saliency.deletion.random);
    expect(result.maps[3].insertion.random).toBe(result.maps[2].insertion.random);
    for (const role of ['standard', 'robust'] as const) {
      expect(result.models[role].accuracy).toBeGreaterThanOrEqual(0);
      expect(result.models[role].accuracy).toBeLessThanOrEqual(1);
    }
    expect(artifacts.map((a) => [a.name, a.mediaType])).toEqual([
      ['robust-saliency.json', 'application/json'],
      ['robust-saliency.png', 'image/png'],
    ]);
    const meta = await sharp(artifacts[1].bytes).metadata();
    expect(meta.format).toBe('png');
    expect(JSON.parse(JSON.stringify(result))).toEqual(JSON.parse(JSON.stringify(result)));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives the same result for the same seed', async () => {
    const a = await robustSaliencyTask.run({ ...tiny, pictures: 0 });
    const b = await robustSaliencyTask.run({ ...tiny, pictures: 0 });
    expect(b.result.maps.map((m) => m.perImage)).toEqual(a.result.maps.map((m) => m.perImage));
  });

  it('refuses models that do not take the same inputs', async () => {
    const err = await caughtAdvkitError(robustSaliencyTask.run({ ...tiny, robust: 'mnist-cnn' }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('[28, 28, 1]');
    const missing = await caughtAdvkitError(robustSaliencyTask.run({ ...tiny, standard: 'no-such-model' }));
    expect(missing.message).toContain("'standard'");
  });
});

describe('edgeMaps', () => {
  it("is Sobel's magnitude of the luminance: zero on flat areas, 4 x the step beside a vertical edge", async () => {
    // 1 x 4 x 4 x 3: the left two columns black, the right two white (luminance 1).
    const values = new Float32Array(4 * 4 * 3);
    for (let y = 0; y < 4; y++)
      for (let x = 2; x < 4; x++) values.fill(1, (y * 4 + x) * 3, (y * 4 + x + 1) * 3);
    const x = tf.tensor4d(values, [1, 4, 4, 3]);
    const edges = await edgeMaps(x);
    x.dispose();
    for (let y = 0; y < 4; y++) {
      expect(Array.from(edges.subarray(y * 4, y * 4 + 4)).map((v) => Number(v.toFixed(4)))).toEqual([
        0, 4, 4, 0,
      ]);
    }
  });
});

/** A curve as deletionInsertion reports it, from per-image logits at 0, 1/2 and 1 of the pixels changed. */
function curve(logits: number[][], cleanLast: boolean): FaithfulnessCurve {
  const area = (z: number[]): number => (z[0] + 2 * z[1] + z[2]) / 4;
  const normalized = logits.map((z) => {
    const [clean, replaced] = cleanLast ? [z[2], z[0]] : [z[0], z[2]];
    return z.map((v) => (v - replaced) / (clean - replaced));
  });
  return {
    auc: 0,
    aucPerInput: normalized.map(area),
    logitAuc: 0,
    logitAucPerInput: logits.map(area),
    probabilityAuc: 0,
    probabilityAucPerInput: [],
    curve: [],
    logits,
  };
}

describe('curveScore', () => {
  it('pools the normalized area over the images and counts the images where the map beats the random order', () => {
    // Deletion from F(x) to F(r): image 0 spans 10 -> 0, image 1 only 1 -> 0.
    const map = curve(
      [
        [10, 0, 0],
        [1, 1, 0],
      ],
      false,
    );
    const random = curve(
      [
        [10, 10, 0],
        [1, 0, 0],
      ],
      false,
    );
    const s = curveScore(map, random, false);
    // Areas 2.5 and 0.75 above F(r) = 0, over spans 10 and 1: (2.5 + 0.75) / 11.
    expect(s.auc).toBeCloseTo(3.25 / 11, 10);
    expect(s.random).toBeCloseTo((7.5 + 0.25) / 11, 10);
    expect(s.beatsRandom).toBe(0.5);
    expect(s.median).toBeCloseTo((0.25 + 0.75) / 2, 10);
    // Insertion ends at the clean image: higher areas win.
    const up = curveScore(curve([[0, 10, 10]], true), curve([[0, 0, 10]], true), true);
    expect([up.auc, up.random, up.beatsRandom]).toEqual([0.75, 0.25, 1]);
  });
});

describe('meanSe', () => {
  it('is the mean and the standard error of the finite values', () => {
    expect(meanSe([1, 2, 3, Number.NaN])).toEqual({ mean: 2, se: Math.sqrt(1 / 3), n: 3 });
    expect(meanSe([]).n).toBe(0);
  });
});
