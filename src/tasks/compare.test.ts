import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { realDataRoot } from '../data/test-utils/real-data.js';
import { caughtAdvkitError } from '../data/test-utils/scratch.js';
import type { ModelRobustness } from '../evaluate/compare.js';
import { bundledModelDir } from '../models/node/package-root.js';
import { compareTask, parseAttacks } from './compare.js';
import { boundsVariants, type BoundsVariants } from './test-utils/bounds-fixtures.js';

let variants: BoundsVariants;

beforeAll(async () => {
  process.env.ADVKIT_DATA = realDataRoot();
  await initNodeBackend();
  variants = boundsVariants('mnist-cnn');
});

afterAll(() => variants.cleanup());

const spec = (json: string): Record<string, unknown> => JSON.parse(json) as Record<string, unknown>;
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** A row's numbers, without its name and timings. */
const numbers = (row: ModelRobustness): unknown => ({
  clean: row.cleanAccuracy,
  attacks: row.attacks.map((a) => a.accuracy),
  worstCase: row.worstCase,
});

describe('compare task', () => {
  it('runs from a JSON spec: a versioned result, compare.json and compare.md, and no tensor left behind', async () => {
    const before = tf.memory().numTensors;
    // A bundled model name, and the budgets typed in descending order.
    const { result, artifacts } = await compareTask.run(
      spec('{"models": ["mnist-cnn", "mnist-cnn-robust"], "n": 20, "eps": "0.3,1/10", "attacks": "fgsm"}'),
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(result).toMatchObject({
      task: 'compare',
      schemaVersion: 1,
      format: 'advkit-compare/1',
      eps: [0.1, 0.3],
      epsText: ['1/10', '0.3'],
      n: 20,
      dataset: { name: 'mnist', split: 'test', n: 20, sample: 'first n' },
      modelPaths: [bundledModelDir('mnist-cnn'), bundledModelDir('mnist-cnn-robust')],
    });
    expect(result.command).toMatch(/^advkit compare --models mnist-cnn,mnist-cnn-robust .*--eps 1\/10,0\.3/);
    expect(artifacts.map((a) => [a.name, a.mediaType])).toEqual([
      ['compare.json', 'application/json'],
      ['compare.md', 'text/markdown'],
    ]);
    expect(JSON.parse(text(artifacts[0].bytes))).toEqual(result);
    expect(text(artifacts[1].bytes)).toContain('| model | clean | FGSM 1/10 | FGSM 0.3 |');

    // Each column carries its own budget's numbers: the same as a run at that budget alone.
    const alone = await compareTask.run({ models: 'mnist-cnn', n: 20, eps: 0.3, attacks: 'fgsm' });
    expect(alone.result.models[0].attacks[0].accuracy[0]).toBe(result.models[0].attacks[0].accuracy[1]);
    expect(result.models[0].attacks[0].accuracy[0]).toBeGreaterThan(result.models[0].attacks[0].accuracy[1]);
  });

  it('gives the same numbers for one network saved with bounds [0, 1], [-1, 1] and [0, 255]', async () => {
    const attacks = [{ attack: 'fgsm' }, { attack: 'pgd', params: { steps: 5, relStepSize: 0.4 } }];
    const notes: string[] = [];
    const { result } = await compareTask.run(
      {
        models: [variants.dirs.unit, variants.dirs.signed, variants.dirs.bytes],
        n: 12,
        eps: 0.1,
        attacks,
      },
      { onNote: (note) => notes.push(note) },
    );
    const [unit, signed, bytes] = result.models;
    expect(unit.worstCase[0]).toBeLessThan(unit.cleanAccuracy);
    expect(numbers(signed)).toEqual(numbers(unit));
    expect(numbers(bytes)).toEqual(numbers(unit));
    expect(notes.join('\n')).toMatch(
      /bytes takes inputs in \[0, 255\]: it gets the same images, and budgets x255/,
    );
    expect(result.dataset.notes).toEqual(notes);

    // Alone, each variant with the budget in its own units gives the same row.
    for (const [dir, scale] of [
      [variants.dirs.signed, variants.scale.signed],
      [variants.dirs.bytes, variants.scale.bytes],
    ] as const) {
      const single = await compareTask.run({ models: [dir], n: 12, eps: 0.1 * scale, attacks });
      expect(numbers(single.result.models[0])).toEqual(numbers(unit));
    }
  });

  it('says so in a note when n is larger than the data, and uses all of it', async () => {
    const notes: string[] = [];
    const { result } = await compareTask.run(
      { models: 'cifar-linear', data: 'cifar10', n: 5000, norm: 'l2', eps: '1', attacks: 'fgsm' },
      { onNote: (note) => notes.push(note) },
    );
    expect(result.n).toBeLessThan(5000);
    expect(notes.join('\n')).toMatch(
      new RegExp(`asked for 5000 images; cifar10/test holds ${result.n}, so all ${result.n} are used`),
    );
    expect(result.dataset.notes).toEqual(notes);
  });

  it('refuses specs that cannot run, with what is expected', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [spec('{"model": "mnist-cnn"}'), /compare: unknown option 'model'\. Its options are: models, names/],
      [{ models: [] }, /--models must be comma-separated model directories/],
      [{ names: ['a', ''] }, /--names must give one non-empty name per model \(2\), got 2/],
      [{ attacks: [{ attack: 'pgd', params: { steps: 0 } }] }, /pgd: steps must be an integer >= 1/],
      [{ attacks: 'pgd:stpes=3' }, /'stpes=3' in 'pgd:stpes=3' is not a parameter of pgd/],
      [{ eps: '0.1,2', n: 2 }, /--eps 2 is larger than the model's input range \[0, 1\]/],
    ];
    for (const [input, message] of cases) {
      const err = await caughtAdvkitError(compareTask.run(input));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toMatch(message);
    }
  });

  it('stops with ABORTED when the signal fires', async () => {
    const abort = new AbortController();
    abort.abort();
    const err = await caughtAdvkitError(
      compareTask.run({ n: 2, eps: 0.1, attacks: 'fgsm' }, { signal: abort.signal }),
    );
    expect(err.code).toBe('ABORTED');
  });
});

describe('parseAttacks', () => {
  it('takes the text form and JSON objects, keeping only the parameters given', () => {
    const specs = parseAttacks(['fgsm', 'pgd:steps=20:rel-step-size=1/10', { attack: 'apgd', label: 'A' }]);
    expect(specs.map((s) => s.params)).toEqual([{}, { steps: 20, relStepSize: 0.1 }, undefined]);
    expect(specs[2].label).toBe('A');
  });
});
