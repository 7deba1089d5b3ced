import * as tf from '@tensorflow/tfjs-core';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { decodeNpy } from '../data/npy.js';
import { caughtAdvkitError, scratchDir } from '../data/test-utils/scratch.js';
import { patchMask } from '../attacks/patch/placement.js';
import { explain } from '../explain/explain.js';
import { patchPng } from '../render/node/patch-png.js';
import { EXPLAIN_METHOD_PARAMS, explainSchema } from './explain-spec.js';
import { explainTask, type ExplainTaskProgress } from './explain.js';
import { TASKS } from './index.js';
import { loadModelSample } from './model-data.js';
import { openModel } from './model-source.js';

/** A square patch PNG of 40 pixels, larger than an MNIST image. */
async function bigPatch(dir: string): Promise<string> {
  const file = path.join(dir, 'big.png');
  const side = 40;
  const mask = patchMask(side, 'square');
  await writeFile(
    file,
    await patchPng({ values: new Float32Array(side * side), mask, side, channels: 1, bounds: [0, 1] }),
  );
  return file;
}

/** The explain task from plain JSON specs, with no CLI: the bundled MNIST CNNs, two inputs, few samples and steps. */
beforeAll(async () => {
  await initNodeBackend();
});

const cheap = { samples: 2, steps: 4, tolerance: 0, window: 7, batchSize: 32 };
const all = 'saliency,gradient-x-input,smoothgrad,ig,gradcam,occlusion';

describe('explain task', () => {
  it('runs from a JSON spec: a row per input, the raw maps as .npy, the picture, and no tensor left', async () => {
    const before = tf.memory().numTensors;
    const events: ExplainTaskProgress[] = [];
    const spec = JSON.parse(
      JSON.stringify({ model: 'mnist-cnn', n: 2, methods: all, saveMaps: true, ...cheap }),
    ) as Record<string, unknown>;
    const { result, artifacts } = await explainTask.run(spec, { onProgress: (p) => events.push(p) });
    expect(tf.memory().numTensors).toBe(before);
    expect(TASKS.explain).toBe(explainTask);
    expect(result).toMatchObject({
      task: 'explain',
      schemaVersion: 1,
      target: 'predicted',
      attack: null,
      data: { mode: 'dataset', name: 'mnist', split: 'test', n: 2 },
    });
    expect(result.methods.map((m) => [m.name, m.output])).toEqual([
      ['saliency', 'pixel'],
      ['gradient-x-input', 'pixel'],
      ['smoothgrad', 'pixel'],
      ['ig', 'pixel'],
      ['gradcam', 'spatial'],
      ['occlusion', 'spatial'],
    ]);
    expect(result.methods.find((m) => m.name === 'smoothgrad')?.params).toMatchObject({
      samples: 2,
      sigma: 0.15,
    });
    expect(result.inputs.map((i) => i.source)).toEqual(['mnist/test#0', 'mnist/test#1']);
    const [model] = result.models;
    expect(model.rows.map((r) => [r.input, r.variant])).toEqual([
      [0, 'clean'],
      [1, 'clean'],
    ]);
    for (const row of model.rows) {
      expect(row.target).toEqual({ index: row.prediction.index, name: row.prediction.name });
      expect(row.methods.ig).toMatchObject({ steps: 4, converged: expect.any(Boolean) });
      expect(row.methods.ig.gap).toBeGreaterThanOrEqual(0);
      expect(row.methods.gradcam).toMatchObject({ layer: expect.any(String) });
    }
    expect(model.cost.smoothgrad.gradients).toBe(4);
    expect(events.filter((e) => e.stage === 'model')).toHaveLength(1);
    expect(new Set(events.flatMap((e) => (e.stage === 'method' ? [e.method] : [])))).toEqual(
      new Set(all.split(',')),
    );

    const files = new Map(artifacts.map((a) => [a.name, a.bytes]));
    expect([...files.keys()].sort()).toEqual(
      ['explain.png', ...all.split(',').map((m) => `maps/${m}.npy`)].sort(),
    );
    const meta = await sharp(files.get('explain.png')).metadata();
    // An input column and six method columns of 112-pixel pictures (28 x 4), two rows.
    expect(meta.width).toBeGreaterThan(7 * 112);
    expect(meta.height).toBeGreaterThan(2 * 112);
    const npy = (name: string) => decodeNpy(files.get(name) ?? new Uint8Array(), name);
    expect(npy('maps/ig.npy').shape).toEqual([2, 28, 28, 1]);
    expect(npy('maps/gradcam.npy').shape).toEqual([2, 28, 28]);
    expect(npy('maps/occlusion.npy').shape).toEqual([2, 28, 28]);

    // The saliency file holds the library's raw, signed gradients of the same inputs, in the same order.
    const source = await openModel('mnist-cnn', { defaultName: 'mnist-cnn' });
    const sample = await loadModelSample(source.model, { split: 'test', n: 2 });
    const direct = await explain(source.model, 'saliency', { x: sample.x });
    const saliency = npy('maps/saliency.npy');
    expect(saliency.values).toEqual(await direct.maps.data());
    expect(saliency.values.some((v) => v < 0)).toBe(true);
    tf.dispose([direct.maps, sample.x]);
    source.model.dispose();
  });

  it('explains each adversarial input in the row under it, for its own prediction or the original class', async () => {
    const spec = {
      model: 'mnist-cnn,mnist-cnn-robust',
      n: 2,
      methods: 'saliency,gradcam',
      attack: 'pgd:steps=5',
      eps: 0.3,
      saveMaps: true,
    };
    const { result, artifacts } = await explainTask.run(spec);
    expect(result.attack).toMatchObject({
      name: 'pgd',
      norm: 'linf',
      eps: 0.3,
      epsText: '0.3',
      params: { steps: 5 },
    });
    expect(result.models.map((m) => m.name)).toEqual(['mnist-cnn', 'mnist-cnn-robust']);
    for (const m of result.models) {
      expect(m.rows.map((r) => r.variant)).toEqual(['clean', 'clean', 'adversarial', 'adversarial']);
      expect(m.attack?.gradients).toBeGreaterThan(0);
      for (const r of m.rows) expect(r.target.index).toBe(r.prediction.index);
      const adv = m.rows.filter((r) => r.variant === 'adversarial');
      for (const r of adv) expect(r.distance?.linf).toBeLessThanOrEqual(0.3 + 1e-6);
    }
    // The standard model is fooled at this budget.
    expect(result.models[0].rows.some((r) => r.fooled === true)).toBe(true);
    expect(artifacts.map((a) => a.name).sort()).toEqual([
      'explain.png',
      'maps/mnist-cnn-robust/gradcam.adversarial.npy',
      'maps/mnist-cnn-robust/gradcam.npy',
      'maps/mnist-cnn-robust/saliency.adversarial.npy',
      'maps/mnist-cnn-robust/saliency.npy',
      'maps/mnist-cnn/gradcam.adversarial.npy',
      'maps/mnist-cnn/gradcam.npy',
      'maps/mnist-cnn/saliency.adversarial.npy',
      'maps/mnist-cnn/saliency.npy',
    ]);

    const original = await explainTask.run({
      ...spec,
      model: 'mnist-cnn',
      target: 'original',
      saveMaps: false,
    });
    const rows = original.result.models[0].rows;
    for (const r of rows) expect(r.target.index).toBe(rows[r.input].prediction.index);
  });

  it('scores the maps by deletion and insertion, and runs the randomization test, when asked', async () => {
    const before = tf.memory().numTensors;
    const { result } = await explainTask.run({
      model: 'mnist-cnn',
      n: 2,
      methods: 'saliency,gradcam',
      attack: 'fgsm',
      eps: 0.2,
      faithfulness: true,
      sanity: true,
      picture: false,
    });
    expect(tf.memory().numTensors).toBe(before);
    const [model] = result.models;
    for (const method of ['saliency', 'gradcam']) {
      for (const variant of ['clean', 'adversarial'] as const) {
        const f = model.faithfulness?.[method]?.[variant];
        expect(f?.insertion).toBeGreaterThan(f?.deletion ?? Infinity);
        expect(f?.random?.score).toEqual(expect.any(Number));
      }
      const sanity = model.sanity?.[method];
      expect(sanity).toMatchObject({ passed: true, flagged: false, threshold: 0.5 });
      expect(sanity?.steps.length).toBeGreaterThan(1);
      expect(model.rows[0].methods[method]).toMatchObject({
        deletionAuc: expect.any(Number),
        insertionAuc: expect.any(Number),
      });
    }
  });

  it('explains each patched input in the row under it, the patch at its own size or the size given', async () => {
    const dir = scratchDir();
    const file = path.join(dir, 'patch.png');
    const side = 8;
    const mask = patchMask(side, 'circle');
    await writeFile(
      file,
      await patchPng({
        values: new Float32Array(side * side).fill(1),
        mask,
        side,
        channels: 1,
        bounds: [0, 1],
      }),
    );
    const spec = { model: 'mnist-cnn', n: 2, methods: 'saliency', patch: file, saveMaps: true, seed: 3 };
    const before = tf.memory().numTensors;
    const { result, artifacts } = await explainTask.run(spec);
    expect(tf.memory().numTensors).toBe(before);
    expect(result.patch).toEqual({ file: path.resolve(file), side: 8, shape: 'circle' });
    expect(result.models[0].rows.map((r) => r.variant)).toEqual(['clean', 'clean', 'patched', 'patched']);
    expect(result.models[0].rows[2].fooled).toEqual(expect.any(Boolean));
    const maps = artifacts.find((a) => a.name === 'maps/saliency.patched.npy');
    const clean = artifacts.find((a) => a.name === 'maps/saliency.npy');
    expect(decodeNpy(maps?.bytes ?? new Uint8Array()).shape).toEqual([2, 28, 28, 1]);
    expect(maps?.bytes).not.toEqual(clean?.bytes);
    const larger = await explainTask.run({ ...spec, patchSize: 0.5, saveMaps: false, picture: false });
    expect(larger.result.patch?.side).toBe(14);
    const tooLarge = await caughtAdvkitError(
      explainTask.run({ ...spec, patchSize: undefined, model: 'mnist-cnn', patch: await bigPatch(dir) }),
    );
    expect(tooLarge.message).toContain("the patch is 40 pixels wide, larger than the model's 28x28 input");
  });

  it('explains image files, for a class given by name', async () => {
    const dir = scratchDir();
    const files = ['a.png', 'b.png'].map((f) => path.join(dir, f));
    for (const [k, file] of files.entries()) {
      const pixels = Uint8Array.from({ length: 28 * 28 }, (_, i) => ((i % 28) * 9 * (k + 1)) % 256);
      await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toFile(file);
    }
    const { result, artifacts } = await explainTask.run({
      model: 'mnist-cnn',
      images: files,
      methods: ['saliency'],
      target: '3',
      picture: false,
    });
    expect(result.data.mode).toBe('images');
    expect(result.inputs).toEqual([
      { source: 'a.png', label: null },
      { source: 'b.png', label: null },
    ]);
    expect(result.models[0].rows.map((r) => r.target)).toEqual([
      { index: 3, name: '3' },
      { index: 3, name: '3' },
    ]);
    expect(artifacts).toEqual([]);
  });

  it('makes each method parameter an option, from the method schemas', () => {
    const keys = EXPLAIN_METHOD_PARAMS.map((o) => o.key);
    expect(keys).toEqual(
      expect.arrayContaining(['sigma', 'samples', 'steps', 'baseline', 'igMethod', 'window', 'relu']),
    );
    expect(EXPLAIN_METHOD_PARAMS.find((o) => o.key === 'samples')?.methods).toEqual([
      'smoothgrad',
      'smoothgrad-sq',
    ]);
    expect(EXPLAIN_METHOD_PARAMS.find((o) => o.key === 'igMethod')).toMatchObject({
      param: 'method',
      methods: ['ig'],
    });
    const steps: unknown = Reflect.get(explainSchema.properties, 'steps');
    expect(steps).toMatchObject({ default: 32, minimum: 1, description: expect.stringMatching(/^ig: /) });
  });

  it('refuses what it cannot do, saying what it expects', async () => {
    const base = { model: 'mnist-cnn', n: 1, methods: 'saliency' };
    const cases: [Record<string, unknown>, string, string][] = [
      [
        { ...base, methods: 'saliency,lime' },
        'INVALID_ARGUMENT',
        "Unknown explanation method 'lime'. Available: saliency",
      ],
      [{ ...base, methods: 'gradcam', layer: 'conv9' }, 'INVALID_ARGUMENT', "Unknown layer 'conv9'"],
      [
        { ...base, target: 'cat' },
        'INVALID_ARGUMENT',
        "Unknown target class 'cat'. The model's classes: 0 0",
      ],
      [{ ...base, model: 'cifar-linear', methods: 'gradcam' }, 'UNSUPPORTED', 'needs a 4-D activation'],
      [{ ...base, images: ['no-such.png'], n: undefined }, 'NOT_FOUND', 'no-such.png does not exist'],
      [{ ...base, n: 0 }, 'INVALID_ARGUMENT', 'n must be an integer >= 1'],
      [{ ...base, sigma: 0.2 }, 'INVALID_ARGUMENT', "'sigma' is a parameter of smoothgrad and smoothgrad-sq"],
      [{ ...base, layer: 'conv1' }, 'INVALID_ARGUMENT', 'add gradcam'],
      [{ ...base, eps: 0.1 }, 'INVALID_ARGUMENT', "give 'attack' too"],
      [{ ...base, attack: 'pgd' }, 'INVALID_ARGUMENT', 'pgd needs a budget'],
      [
        { ...base, attack: 'pgd:stepz=3', eps: 0.1 },
        'INVALID_ARGUMENT',
        "'attack': 'stepz=3' in 'pgd:stepz=3' is not a parameter",
      ],
      [{ ...base, attack: 'pgd', eps: '0.1,0.2' }, 'INVALID_ARGUMENT', "'eps' is one budget"],
      [
        { ...base, images: ['a.png'], n: undefined, target: 'label' },
        'INVALID_ARGUMENT',
        "target 'label' needs labelled inputs",
      ],
      [{ ...base, model: '' }, 'INVALID_ARGUMENT', "'model' is empty"],
      [{ ...base, model: undefined }, 'INVALID_ARGUMENT', "give 'model'"],
      [{ ...base, model: 'no-such-model' }, 'NOT_FOUND', 'no-such-model'],
      [{ ...base, patch: 'no-such-patch.png' }, 'NOT_FOUND', "'patch' no-such-patch.png does not exist"],
      [{ ...base, patchSize: 0.2 }, 'INVALID_ARGUMENT', "give 'patch' too"],
      [
        { ...base, model: 'cifar-cnn,cifar-linear' },
        'INVALID_ARGUMENT',
        'cifar-linear has other classes than cifar-cnn',
      ],
    ];
    for (const [spec, code, message] of cases) {
      const err = await caughtAdvkitError(explainTask.run(spec));
      expect([err.code, err.message]).toEqual([code, expect.stringContaining(message)]);
    }
  });
});
