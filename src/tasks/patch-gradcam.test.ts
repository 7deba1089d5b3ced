import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { loadDataset } from '../data/node/load-dataset.js';
import { realDataRoot, tempDir } from '../data/test-utils/real-data.js';
import { caughtAdvkitError, scratchDir } from '../data/test-utils/scratch.js';
import { onRegion, patchGradcamTask } from './patch-gradcam.js';

/**
 * The patch-gradcam task from plain JSON specs on the bundled MNIST CNN: six digits saved as photos (three
 * train a 3-step patch, three are explained), so each run takes a second or two.
 */
let photos: { dir: string; remove: () => void };

beforeAll(async () => {
  process.env.ADVKIT_DATA = realDataRoot();
  await initNodeBackend();
  photos = tempDir('advkit-patch-gradcam-');
  const mnist = await loadDataset('mnist', { split: 'test' });
  const size = mnist.height * mnist.width;
  for (let i = 0; i < 6; i++) {
    const png = await sharp(mnist.pixels.subarray(i * size, (i + 1) * size), {
      raw: { width: mnist.width, height: mnist.height, channels: 1 },
    })
      .png()
      .toBuffer();
    writeFileSync(path.join(photos.dir, `digit-${i}.png`), png);
  }
});

afterAll(() => photos.remove());

const tiny = () => ({
  model: 'mnist-cnn',
  images: photos.dir,
  target: '3',
  size: 0.5,
  steps: 3,
  batchSize: 3,
});

describe('patch-gradcam task', () => {
  it('runs from a JSON spec: held-out photos, shares against the area share, artifacts, no tensor left behind', async () => {
    const before = tf.memory().numTensors;
    const spec: unknown = JSON.parse(JSON.stringify(tiny()));
    const { result, artifacts } = await patchGradcamTask.run(spec as Record<string, unknown>);
    expect(result).toMatchObject({
      task: 'patch-gradcam',
      schemaVersion: 1,
      target: { index: 3, name: '3' },
      patch: { source: 'trained', pixels: 14, shape: 'circle' },
      // 28 - 14 - round(0.0625 * 28): the bottom-right corner, 2 px in.
      placement: { position: 'bottom-right', left: 12, top: 12, side: 14, rotation: 0 },
    });
    expect(result.photos.map((p) => p.file)).toEqual(['digit-1.png', 'digit-3.png', 'digit-5.png']);
    expect(result.patch.training?.gradients).toBe(9);
    // A disc of diameter 14 on 28 x 28: pi * 7^2 / 784, up to the bilinear edge.
    expect(result.areaShare).toBeCloseTo((Math.PI * 49) / 784, 2);
    expect(result.ceiling).toBeGreaterThan(result.areaShare);
    expect(result.ceiling).toBeLessThan(1);
    for (const p of result.photos) {
      for (const m of [p.before, p.after, p.afterCleanClass, p.noisePatch]) {
        if (m.share !== null) expect(m.share).toBeGreaterThanOrEqual(0);
        if (m.share !== null) expect(m.share).toBeLessThanOrEqual(1);
      }
      expect(p.clean.probability).toBeGreaterThan(0);
    }
    expect(result.summary.before.maps).toBeGreaterThan(0);
    expect(artifacts.map((a) => [a.name, a.mediaType])).toEqual([
      ['patch-gradcam.json', 'application/json'],
      ['patch-gradcam.png', 'image/png'],
      ['patch.png', 'image/png'],
    ]);
    const meta = await sharp(artifacts[1].bytes).metadata();
    expect(meta.width).toBeGreaterThan(5 * 128);
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives the same maps from the patch PNG it wrote (--patch) and from its state directory', async () => {
    const state = scratchDir();
    const trained = await patchGradcamTask.run(tiny(), { stateDir: state });
    const file = path.join(scratchDir(), 'patch.png');
    writeFileSync(file, trained.artifacts[2].bytes);
    const given = await patchGradcamTask.run({ ...tiny(), steps: 1, patch: file });
    expect(given.result.patch.source).toBe(file);
    expect(given.result.patch.training).toBeUndefined();
    expect(given.result.photos).toEqual(trained.result.photos);
    const notes: string[] = [];
    const reused = await patchGradcamTask.run(tiny(), { stateDir: state, onNote: (n) => notes.push(n) });
    expect(reused.result.patch.source).toBe('reused');
    expect(reused.result.patch.training).toEqual(trained.result.patch.training);
    expect(reused.result.photos).toEqual(trained.result.photos);
    expect(notes.join('\n')).toContain('reusing the patch');
    const other = await patchGradcamTask.run({ ...tiny(), steps: 2 }, { stateDir: state });
    expect(other.result.patch.source).toBe('trained');
  });

  it('places the patch where asked', async () => {
    const { result } = await patchGradcamTask.run({ ...tiny(), position: 'center', steps: 1 });
    expect(result.placement).toMatchObject({ left: 7, top: 7 });
    const corner = await patchGradcamTask.run({ ...tiny(), position: 'top-left', margin: 0, steps: 1 });
    expect(corner.result.placement).toMatchObject({ left: 0, top: 0 });
  });

  it('refuses bad inputs with typed errors before training', async () => {
    const saved = process.env.ADVKIT_MODELS;
    delete process.env.ADVKIT_MODELS;
    try {
      const noModel = await caughtAdvkitError(patchGradcamTask.run({ images: photos.dir }));
      expect(noModel.code).toBe('INVALID_ARGUMENT');
      expect(noModel.message).toContain('ADVKIT_MODELS');
    } finally {
      if (saved !== undefined) process.env.ADVKIT_MODELS = saved;
    }
    const layer = await caughtAdvkitError(patchGradcamTask.run({ ...tiny(), layer: 'no_such_layer' }));
    expect(layer.message).toContain('no_such_layer');
    const target = await caughtAdvkitError(patchGradcamTask.run({ ...tiny(), target: 'giraffe' }));
    expect(target.code).toBe('INVALID_ARGUMENT');
    const margin = await caughtAdvkitError(patchGradcamTask.run({ ...tiny(), size: 0.75, margin: 0.4 }));
    expect(margin.message).toContain("'margin' 0.4");
    const dir = scratchDir();
    const wide = path.join(dir, 'wide.png');
    writeFileSync(
      wide,
      await sharp({ create: { width: 8, height: 6, channels: 4, background: '#888' } })
        .png()
        .toBuffer(),
    );
    const notSquare = await caughtAdvkitError(patchGradcamTask.run({ ...tiny(), patch: wide }));
    expect(notSquare.message).toContain('8x6');
    const missing = await caughtAdvkitError(
      patchGradcamTask.run({ ...tiny(), patch: path.join(dir, 'no.png') }),
    );
    expect(missing.code).toBe('NOT_FOUND');
    mkdirSync(path.join(dir, 'one'));
    writeFileSync(path.join(dir, 'one', 'a.png'), await sharp(wide).toBuffer());
    const few = await caughtAdvkitError(patchGradcamTask.run({ ...tiny(), images: path.join(dir, 'one') }));
    expect(few.message).toContain('at least 2 photos');
  });
});

describe('onRegion', () => {
  it('is the map-weighted mean of the region, with the peak, and null for an all-zero map', () => {
    const region = [0, 0, 0.5, 1];
    expect(onRegion([1, 1, 1, 1], region)).toEqual({ share: 0.375, peakInPatch: false });
    expect(onRegion([0, 1, 0, 3], region)).toEqual({ share: 0.75, peakInPatch: true });
    expect(onRegion([0, 0, 0, 0], region)).toEqual({ share: null, peakInPatch: null });
  });
});
