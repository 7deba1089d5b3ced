import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { realDataRoot } from '../data/test-utils/real-data.js';
import { caughtAdvkitError, scratchDir } from '../data/test-utils/scratch.js';
import { TASKS } from './index.js';
import { nonRobustFeaturesTask } from './non-robust-features.js';

beforeAll(async () => {
  process.env.ADVKIT_DATA = realDataRoot();
  await initNodeBackend();
});

/** A few airplane and cat images and a short training: the whole pipeline in seconds. */
const tiny = JSON.parse(
  '{"n": 40, "datasets": "det,rand", "steps": 3, "stepSize": 0.8, "epochs": 1, "chunk": 16, "seed": 5}',
) as Record<string, unknown>;

describe('non-robust-features task', () => {
  it('runs from a JSON spec: a versioned result, the JSON and the picture, and no tensor left behind', async () => {
    expect(TASKS['non-robust-features']).toBe(nonRobustFeaturesTask);
    const before = tf.memory().numTensors;
    const { result, artifacts } = await nonRobustFeaturesTask.run(tiny);
    expect(tf.memory().numTensors).toBe(before);
    expect(result).toMatchObject({
      task: 'non-robust-features',
      schemaVersion: 1,
      chance: 0.5,
      data: { name: 'cifar10', classes: ['airplane', 'cat'], trainImages: 40, testImages: 206 },
      source: { name: 'cifar-linear', architecture: 'linear' },
    });
    expect(result.settings).toMatchObject({
      variant: 'binary',
      model: 'cifar-linear',
      datasets: ['det', 'rand'],
      attack: { norm: 'l2', eps: 2, steps: 3, stepSize: 0.8, earlyStop: true, keepFailures: false },
      training: { epochs: 1, optimizer: 'adam', seed: 5 },
    });
    expect(result.datasets.map((d) => d.rule)).toEqual(['det', 'rand']);
    const work = result.datasets.reduce(
      (t, d) => t + d.generation.seconds + d.trainSeconds + d.evalSeconds,
      0,
    );
    expect(result.workSeconds).toBeCloseTo(work, 6);
    for (const d of result.datasets) {
      expect(d.generation.images).toBe(40);
      expect(d.generation.kept).toBe(Math.round(d.generation.successRate * 40));
      expect(d.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(d.testAccuracy).toBeLessThanOrEqual(1);
    }
    expect(result.datasets[0].generation.ownClass).toBe(0);
    expect(result.datasets[1].generation.ownClass).toBeGreaterThan(0);
    expect(artifacts.map((a) => [a.name, a.mediaType])).toEqual([
      ['non-robust-features.json', 'application/json'],
      ['pairs.png', 'image/png'],
    ]);
    expect(JSON.parse(new TextDecoder().decode(artifacts[0].bytes))).toEqual(result);
    const meta = await sharp(artifacts[1].bytes).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(8 * 64);
  });

  it('keeps its state in stateDir: the same spec continues, another is refused unless restart', async () => {
    const stateDir = path.join(scratchDir(), 'state');
    const spec = { ...tiny, datasets: 'det' };
    const first = await nonRobustFeaturesTask.run(spec, { stateDir });
    expect(readdirSync(stateDir).sort()).toEqual([
      'det-00000.chunk',
      'det-00001.chunk',
      'det-00002.chunk',
      'experiment.json',
      'train-det',
    ]);
    const notes: string[] = [];
    const again = await nonRobustFeaturesTask.run(spec, { stateDir, onNote: (n) => notes.push(n) });
    expect(again.result.datasets[0].generation.resumedChunks).toBe(3);
    expect(again.result.datasets[0].testAccuracy).toBe(first.result.datasets[0].testAccuracy);
    expect(notes.join('\n')).toContain('continuing the run');

    // Other training: the relabelled images are reused, the fresh model trained again.
    notes.length = 0;
    const longer = await nonRobustFeaturesTask.run(
      { ...spec, epochs: 2 },
      { stateDir, onNote: (n) => notes.push(n) },
    );
    expect(longer.result.datasets[0].generation.resumedChunks).toBe(3);
    expect(notes.join('\n')).toContain('the training changed (training.epochs was 1, now 2)');

    const other = await caughtAdvkitError(nonRobustFeaturesTask.run({ ...spec, eps: 1 }, { stateDir }));
    expect(other.code).toBe('INVALID_ARGUMENT');
    expect(other.message).toContain('attack.eps was 2, now 1');
    expect(other.message).toContain("'restart'");
    await nonRobustFeaturesTask.run({ ...spec, eps: 1 }, { stateDir, restart: true });
    expect(existsSync(path.join(stateDir, 'det-00000.chunk'))).toBe(true);
  });

  it('refuses a bad dataset list and an unknown variant', async () => {
    const bad = await caughtAdvkitError(nonRobustFeaturesTask.run({ datasets: 'det,random' }));
    expect(bad.message).toContain("'datasets' must list det and/or rand, got 'random'");
    const unknown = await caughtAdvkitError(nonRobustFeaturesTask.run({ variant: 'cifar100' as 'binary' }));
    expect(unknown.message).toContain('variant must be one of binary, cifar10');
  });
});
