import * as tf from '@tensorflow/tfjs-core';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { realDataRoot } from '../data/test-utils/real-data.js';
import { caughtAdvkitError, scratchDir } from '../data/test-utils/scratch.js';
import { patchTask, type PatchTaskProgress } from './patch.js';
import { boundsVariants, type BoundsVariants } from './test-utils/bounds-fixtures.js';

/** The patch task from plain JSON specs, with no CLI. Tiny runs: a few images, a few steps. */
let variants: BoundsVariants;

beforeAll(async () => {
  process.env.ADVKIT_DATA = realDataRoot();
  await initNodeBackend();
  variants = boundsVariants('mnist-cnn');
});

afterAll(() => variants.cleanup());

const tiny = { data: 'mnist', n: 8, target: '3', size: 0.5, steps: 3, batchSize: 8, trials: 2 };

/** The patch PNG's RGBA bytes. */
async function pngPixels(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await sharp(bytes).raw().toBuffer());
}

describe('patch task', () => {
  it('runs from a JSON spec: a versioned result, patch.png, and no tensor left behind', async () => {
    const before = tf.memory().numTensors;
    const spec: unknown = JSON.parse(JSON.stringify(tiny));
    const { result, artifacts } = await patchTask.run(spec as Record<string, unknown>);
    expect(result).toMatchObject({
      task: 'patch',
      schemaVersion: 1,
      labels: 'dataset',
      target: { index: 3, name: '3' },
      patch: { pixels: 14, size: 0.5, shape: 'circle' },
      gradients: 24,
    });
    expect(result.data).toBe('mnist (train #0-7, held-out test #0-7)');
    expect(result.heldOut.evaluated + result.heldOut.excluded).toBe(8);
    expect(artifacts.map((a) => [a.name, a.mediaType])).toEqual([['patch.png', 'image/png']]);
    const meta = await sharp(artifacts[0].bytes).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([14, 14, 4]);
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives the same losses, patch and success rates for the network saved with bounds [0,1], [-1,1] and [0,255]', async () => {
    const runs = [];
    for (const model of [variants.dirs.unit, variants.dirs.signed, variants.dirs.bytes]) {
      const losses: number[] = [];
      const onProgress = (p: PatchTaskProgress): void => {
        if (p.stage === 'train') losses.push(p.loss);
      };
      const { result, artifacts } = await patchTask.run({ ...tiny, model }, { onProgress });
      runs.push({ result, losses, pixels: await pngPixels(artifacts[0].bytes) });
    }
    const [unit, signed, bytes] = runs;
    expect(unit.losses).toHaveLength(3);
    for (const other of [signed, bytes]) {
      // The first loss comes before any step: the data reached each variant as the same image.
      expect(other.losses[0]).toBeCloseTo(unit.losses[0], 4);
      for (const key of ['train', 'heldOut', 'randomPatch'] as const) {
        expect(other.result[key].successes).toBe(unit.result[key].successes);
        expect(other.result[key].cleanTargetRate).toBe(unit.result[key].cleanTargetRate);
      }
    }
    // trainPatch steps in units of the input range, so the learning rate and Adam's epsilon mean the same for
    // every variant. [-1, 1] agrees to float32 rounding. On [0, 255] the in-model scaling by 1/255 rounds
    // differently, and Adam's first steps are nearly sign steps, so pixels whose gradient is rounding noise move
    // the other way: close (and the same successes), not equal.
    signed.losses.forEach((loss, i) =>
      expect(Math.abs(loss - unit.losses[i])).toBeLessThan(1e-3 * unit.losses[i]),
    );
    const off = signed.pixels.reduce((m, v, i) => Math.max(m, Math.abs(v - unit.pixels[i])), 0);
    expect(off).toBeLessThanOrEqual(1);
    bytes.losses.forEach((loss, i) =>
      expect(Math.abs(loss - unit.losses[i])).toBeLessThan(0.05 * unit.losses[i]),
    );
  });

  it('takes a bundled model name', async () => {
    const { result } = await patchTask.run({
      ...tiny,
      model: 'mnist-cnn-robust',
      n: 4,
      steps: 1,
      trials: 1,
    });
    expect(path.basename(result.model)).toBe('mnist-cnn-robust');
  });

  it('trains on the photos of a folder, judged against the clean predictions', async () => {
    const dir = scratchDir();
    for (let i = 0; i < 4; i++) {
      const pixels = Uint8Array.from({ length: 28 * 28 }, (_, p) => (p * (i + 3)) % 256);
      await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toFile(path.join(dir, `photo${i}.png`));
    }
    const { result } = await patchTask.run({ images: dir, target: '3', steps: 1, trials: 1, size: 0.5 });
    expect(result.labels).toBe('clean predictions');
    expect(result.data).toBe(dir);
    expect(result.train.evaluated + result.train.excluded).toBe(2);
  });

  it('stops with ABORTED when the signal fires mid-training, leaving no tensor behind', async () => {
    const before = tf.memory().numTensors;
    const abort = new AbortController();
    const err = await caughtAdvkitError(
      patchTask.run(tiny, {
        signal: abort.signal,
        onProgress: (p) => {
          if (p.stage === 'train') abort.abort();
        },
      }),
    );
    expect(err.code).toBe('ABORTED');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses bad combinations before loading anything, naming the options', async () => {
    const both = await caughtAdvkitError(patchTask.run({ ...tiny, images: '/nowhere' }));
    expect(both.code).toBe('INVALID_ARGUMENT');
    expect(both.details?.option).toBe('images');
    const upsideDown = await caughtAdvkitError(patchTask.run({ ...tiny, scaleMin: 2, scaleMax: 1 }));
    expect(upsideDown.message).toContain("'scaleMin' (2) must not exceed 'scaleMax' (1)");
    const noTarget = await caughtAdvkitError(patchTask.run({ data: 'mnist' }));
    expect(noTarget.message).toContain("'target' is required");
    const notFixed = await caughtAdvkitError(patchTask.run({ ...tiny, target: 'random' }));
    expect(notFixed.message).toContain('one fixed class');
  });
});
