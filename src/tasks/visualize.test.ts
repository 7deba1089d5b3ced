import * as tf from '@tensorflow/tfjs-core';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { caughtAdvkitError, scratchDir } from '../data/test-utils/scratch.js';
import { TASKS } from './index.js';
import { visualizeTask, type VisualizeProgress } from './visualize.js';

/** The visualize task from plain JSON specs, with no CLI: the bundled MNIST CNNs and a few steps. */
beforeAll(async () => {
  await initNodeBackend();
});

const tiny = { model: 'mnist-cnn,mnist-cnn-robust', steps: 3, stepSize: 1 };

describe('visualize task', () => {
  it('runs from a JSON spec: a row per model, a column per class, the result per cell, and no tensor left', async () => {
    const before = tf.memory().numTensors;
    const events: VisualizeProgress[] = [];
    const spec = JSON.parse(JSON.stringify({ ...tiny, classes: ['3', 7] })) as Record<string, unknown>;
    const { result, artifacts } = await visualizeTask.run(spec, { onProgress: (p) => events.push(p) });
    expect(tf.memory().numTensors).toBe(before);
    expect(TASKS.visualize).toBe(visualizeTask);
    expect(result).toMatchObject({
      task: 'visualize',
      schemaVersion: 1,
      objective: 'class',
      columns: ['3', '7'],
      start: 'noise',
      options: { steps: 3, stepSize: 1, jitter: 0, blurEvery: 0, seed: 0 },
    });
    expect(result.models.map((m) => m.name)).toEqual(['mnist-cnn', 'mnist-cnn-robust']);
    for (const m of result.models) {
      expect(m.gradients).toBe(6);
      expect(m.cells.map((c) => [c.index, c.name])).toEqual([
        [3, '3'],
        [7, '7'],
      ]);
      for (const c of m.cells) {
        expect(Number.isFinite(c.objective)).toBe(true);
        expect(c.probability).toBeGreaterThan(0);
        expect(c.probability).toBeLessThanOrEqual(1);
        expect(c.targetProbability).toBeLessThanOrEqual(c.probability);
        expect(m.cells.length).toBe(2);
      }
    }
    expect(events.filter((e) => e.stage === 'model').map((e) => e.model)).toEqual([
      'mnist-cnn',
      'mnist-cnn-robust',
    ]);
    expect(events.filter((e) => e.stage === 'step')).toHaveLength(6);
    expect(artifacts.map((a) => [a.name, a.mediaType])).toEqual([['visualize.png', 'image/png']]);
    const meta = await sharp(artifacts[0].bytes).metadata();
    // Two 28x28 pictures per row, enlarged x4, beside the row labels.
    expect(meta.width).toBeGreaterThan(2 * 112);
    expect(meta.height).toBeGreaterThan(2 * 112);
  });

  it('the same spec gives the same pictures; a class logit climbs over more steps', async () => {
    const spec = { model: 'mnist-cnn', classes: '1', steps: 2, jitter: 1, blurEvery: 1, seed: 4 };
    const a = await visualizeTask.run(spec);
    const b = await visualizeTask.run(spec);
    expect(Buffer.from(b.artifacts[0].bytes).equals(Buffer.from(a.artifacts[0].bytes))).toBe(true);
    const longer = await visualizeTask.run({ ...spec, steps: 8 });
    expect(longer.result.models[0].cells[0].objective).toBeGreaterThan(a.result.models[0].cells[0].objective);
  });

  it('maximizes channels of a layer, and starts from an image file', async () => {
    const file = path.join(scratchDir(), 'start.png');
    const gray = new Uint8Array(20 * 20).map((_, i) => (i * 7) % 256);
    await sharp(gray, { raw: { width: 20, height: 20, channels: 1 } })
      .png()
      .toFile(file);
    const { result } = await visualizeTask.run({
      model: 'mnist-cnn',
      layer: 'conv2',
      channels: '0,5',
      start: file,
      steps: 2,
    });
    expect(result).toMatchObject({
      objective: 'channel',
      layer: 'conv2',
      columns: ['channel 0', 'channel 5'],
      start: file,
    });
    expect(result.models[0].cells.map((c) => c.index)).toEqual([0, 5]);
  });

  it('refuses what it cannot do, naming the option', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ ...tiny, classes: 'three' }, 'INVALID_ARGUMENT', "mnist-cnn: Unknown target class 'three'"],
      [{ ...tiny, classes: '12' }, 'INVALID_ARGUMENT', 'Target class 12 does not exist'],
      [{ ...tiny, channels: '1' }, 'INVALID_ARGUMENT', "give 'layer' too"],
      [{ ...tiny, layer: 'conv1', classes: '1' }, 'INVALID_ARGUMENT', 'not both'],
      [
        { ...tiny, layer: 'conv9' },
        'INVALID_ARGUMENT',
        "mnist-cnn: Unknown layer 'conv9'. Layers with a 4-D activation: conv1",
      ],
      [{ ...tiny, layer: 'conv1', channels: '99' }, 'INVALID_ARGUMENT', "channel '99' is not a channel"],
      [{ ...tiny, start: 'no-such.png' }, 'NOT_FOUND', 'no-such.png does not exist'],
      [{ ...tiny, model: ' , ' }, 'INVALID_ARGUMENT', 'is empty'],
      [{ ...tiny, steps: 0 }, 'INVALID_ARGUMENT', 'steps must be an integer >= 1'],
      [{ ...tiny, model: 'no-such-model' }, 'NOT_FOUND', 'no-such-model'],
    ];
    for (const [spec, code, message] of cases) {
      const err = await caughtAdvkitError(visualizeTask.run(spec));
      expect([err.code, err.message]).toEqual([code, expect.stringContaining(message)]);
    }
  });
});
