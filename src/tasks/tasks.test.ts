import * as tf from '@tensorflow/tfjs-core';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { realDataRoot } from '../data/test-utils/real-data.js';
import { caughtAdvkitError } from '../data/test-utils/scratch.js';
import { bundledModelDir } from '../models/node/package-root.js';
import { attackTask } from './attack.js';
import type { AttackSummary } from './attack-dataset.js';
import { evaluateTask } from './evaluate.js';
import { predictTask } from './predict.js';
import { datasetSha256 } from '../evaluate/fingerprint.js';
import { loadModelSample } from './model-data.js';
import { openModel } from './model-source.js';
import { TASKS } from './index.js';
import { schemaKeyword } from './spec.js';
import type { TSchema } from 'typebox';
import { boundsVariants, type BoundsVariants } from './test-utils/bounds-fixtures.js';

/**
 * The tasks run from plain JSON specs, with no CLI: each returns a versioned result and named artifacts, and
 * the data reaches a model in its own input space whatever its bounds.
 */
let tmp: string;
let variants: BoundsVariants;

beforeAll(async () => {
  process.env.ADVKIT_DATA = realDataRoot();
  await initNodeBackend();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-tasks-'));
  variants = boundsVariants('mnist-cnn');
});

afterAll(() => {
  variants.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

const spec = (json: string): Record<string, unknown> => JSON.parse(json) as Record<string, unknown>;

describe('tasks from JSON specs', () => {
  it('evaluate: a versioned result, evaluation.json and report.html, and no tensor left behind', async () => {
    const before = tf.memory().numTensors;
    const { result, artifacts } = await evaluateTask.run(
      spec('{"n": 4, "eps": "0.3,0.1", "suite": "pgd", "sanity": false, "gallery": 1}'),
    );
    expect(result).toMatchObject({ task: 'evaluate', schemaVersion: 1, epsText: ['0.1', '0.3'] });
    expect(result.report.eps).toEqual([0.1, 0.3]);
    expect(result.report.model.name).toBe('mnist-cnn-robust');
    expect(artifacts.map((a) => [a.name, a.mediaType])).toEqual([
      ['evaluation.json', 'application/json'],
      ['report.html', 'text/html'],
    ]);
    expect(JSON.parse(new TextDecoder().decode(artifacts[0].bytes))).toEqual(result.report);
    // The points are the first n of the split (the seed is the attacks'), as the report says.
    const { model } = await openModel('mnist-cnn-robust', { defaultName: 'mnist-cnn-robust' });
    const first = await loadModelSample(model, { split: 'test', n: 4 });
    expect(result.report.dataset.sha256).toBe(await datasetSha256(first.x, first.labels));
    first.x.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('attack: dataset mode with pictures gives gallery.png and summary.json; eps typed in any order', async () => {
    const { result, artifacts } = await attackTask.run(
      spec('{"attack": "fgsm", "eps": "0.3,1/10", "n": 6, "pictures": true}'),
    );
    expect(result).toMatchObject({ task: 'attack', schemaVersion: 1, mode: 'dataset' });
    const summary = result as AttackSummary;
    expect(summary.results.map((r) => [r.eps, r.epsText])).toEqual([
      [0.1, '1/10'],
      [0.3, '0.3'],
    ]);
    expect(summary.results[0].robustAccuracy).toBeGreaterThanOrEqual(summary.results[1].robustAccuracy);
    expect(artifacts.map((a) => [a.name, a.mediaType])).toEqual([
      ['gallery.png', 'image/png'],
      ['summary.json', 'application/json'],
    ]);
  });

  it('predict: every task takes a bundled model name', async () => {
    const { result } = await predictTask.run({ model: 'mnist-cnn-robust', n: 5 });
    expect(result).toMatchObject({ task: 'predict', schemaVersion: 1 });
    expect(result.model).toBe(bundledModelDir('mnist-cnn-robust'));
    expect(result.predictions).toHaveLength(5);
    const attacked = await attackTask.run({ model: 'mnist-cnn-robust', attack: 'fgsm', eps: 0.1, n: 3 });
    expect(attacked.result.model).toBe(path.resolve(bundledModelDir('mnist-cnn-robust')));
  });

  it('refuses unknown options and bad values with what is expected', async () => {
    expect((await caughtAdvkitError(evaluateTask.run(spec('{"nn": 3}')))).message).toMatch(
      /evaluate: unknown option 'nn'\. Its options are: model, labels/,
    );
    expect((await caughtAdvkitError(evaluateTask.run({ n: 0 }))).message).toBe(
      'evaluate: n must be an integer >= 1, got 0.',
    );
    expect((await caughtAdvkitError(attackTask.run({ target: '-1', eps: 0.3, n: 2 }))).message).toMatch(
      /--target -1 is not a class of this model/,
    );
    const split = await caughtAdvkitError(predictTask.run({ images: ['a.png'], split: 'train' }));
    expect(split.message).toMatch(/--split is for dataset samples/);
  });
});

describe('a model whose bounds are [-1, 1] or [0, 255] gives the same numbers as the same network on [0, 1]', () => {
  it('predict', async () => {
    const accuracy = async (dir: string): Promise<number | undefined> =>
      (await predictTask.run({ model: dir, data: 'mnist', n: 40 })).result.accuracy;
    const unit = await accuracy(variants.dirs.unit);
    expect(await accuracy(variants.dirs.signed)).toBe(unit);
    expect(await accuracy(variants.dirs.bytes)).toBe(unit);
  });

  it('attack (PGD, budgets scaled to each model)', async () => {
    const robust = async (dir: string, scale: number): Promise<number[]> => {
      const { result } = await attackTask.run({
        model: dir,
        data: 'mnist',
        n: 16,
        eps: [0.05 * scale, 0.15 * scale],
        params: { steps: 5, relStepSize: 0.4 },
      });
      return (result as AttackSummary).results.map((r) => r.robustAccuracy);
    };
    const unit = await robust(variants.dirs.unit, 1);
    expect(unit[1]).toBeLessThan(1);
    expect(await robust(variants.dirs.signed, variants.scale.signed)).toEqual(unit);
    expect(await robust(variants.dirs.bytes, variants.scale.bytes)).toEqual(unit);
  });

  it('evaluate', async () => {
    const robust = async (dir: string, scale: number): Promise<number[]> => {
      const { result } = await evaluateTask.run({
        model: dir,
        n: 12,
        eps: [0.1 * scale],
        suite: 'pgd',
        sanity: false,
        gallery: 0,
      });
      return [result.report.clean_acc, ...result.report.robust.map((r) => r.autoattack_acc)];
    };
    const unit = await robust(variants.dirs.unit, 1);
    expect(unit[1]).toBeLessThan(unit[0]);
    expect(await robust(variants.dirs.signed, variants.scale.signed)).toEqual(unit);
    expect(await robust(variants.dirs.bytes, variants.scale.bytes)).toEqual(unit);
  });
});

describe('what the probes found, through the tasks', () => {
  it('a model with NaN weights is refused at load, by name, as corrupt data', async () => {
    const dir = path.join(tmp, 'nan-model');
    cpSync(bundledModelDir('mnist-cnn'), dir, { recursive: true });
    const weights = readFileSync(path.join(dir, 'weights.bin'));
    new Float32Array(weights.buffer, weights.byteOffset, 4).fill(NaN);
    writeFileSync(path.join(dir, 'weights.bin'), weights);
    const err = await caughtAdvkitError(predictTask.run({ model: dir, n: 2 }));
    expect(err.code).toBe('CORRUPT_DATA');
    expect(err.message).toMatch(/NaN/);
  });

  it('more images than the data holds: all are used and a note says so', async () => {
    const notes: string[] = [];
    const { result } = await predictTask.run(
      { model: 'cifar-linear', data: 'cifar10', n: 5000 },
      { onNote: (n) => notes.push(n) },
    );
    expect(result.predictions.length).toBeLessThan(5000);
    expect(notes.join('\n')).toMatch(/asked for 5000 images; cifar10\/test holds \d+, so all \d+ are used/);
  });

  it('only the bundled sample: more images than it holds is an error that says how to get the full files', async () => {
    const empty = mkdtempSync(path.join(tmp, 'empty-'));
    const saved = process.env.ADVKIT_DATA;
    process.env.ADVKIT_DATA = empty;
    process.env.ADVKIT_OFFLINE = '1';
    try {
      const { result } = await predictTask.run({ n: 20, dataDir: empty });
      expect(result.notes.join('\n')).toMatch(/bundled sample/);
      const err = await caughtAdvkitError(predictTask.run({ n: 5000, dataDir: empty }));
      expect(err.code).toBe('NOT_FOUND');
      expect(err.message).toMatch(/only the bundled sample/);
    } finally {
      process.env.ADVKIT_DATA = saved;
      delete process.env.ADVKIT_OFFLINE;
    }
  });

  it('a target equal to the true class is not counted as fooled, and the result says so', async () => {
    const { result } = await attackTask.run({ attack: 'fgsm', eps: 0.3, n: 10, target: '7' });
    const summary = result as AttackSummary;
    expect(summary.notes.join('\n')).toMatch(/already belong to their target class/);
  });
});

describe('the task registry', () => {
  it('names every task by its own name, each with an object schema that documents its options', () => {
    for (const [name, task] of Object.entries(TASKS)) {
      expect(task.name).toBe(name);
      expect(task.schema.type).toBe('object');
      for (const [key, prop] of Object.entries<TSchema>(task.schema.properties)) {
        expect(typeof schemaKeyword(prop, 'description'), `${name}.${key}`).toBe('string');
      }
    }
  });
});
