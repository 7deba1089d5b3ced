import * as tf from '@tensorflow/tfjs-core';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { realDataRoot, withDataEnv } from '../data/test-utils/real-data.js';
import { caughtAdvkitError } from '../data/test-utils/scratch.js';
import { CHECKPOINT_FILE } from '../train/node/file-checkpoint-store.js';
import { trainTask } from './train.js';

/** The train task from plain JSON specs, with no CLI: a tiny MLP on a few hundred MNIST images. */
let tmp: string;

beforeAll(async () => {
  process.env.ADVKIT_DATA = realDataRoot();
  await initNodeBackend();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-train-task-'));
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const spec = (json: string): Record<string, unknown> => JSON.parse(json) as Record<string, unknown>;
const tiny = '"data": "mnist", "arch": "mlp", "hidden": [16], "n": 256, "epochs": 1, "batchSize": 64';

describe('train task', () => {
  it('trains from a JSON spec, saves the model, returns a versioned result and leaves no tensor behind', async () => {
    const out = path.join(tmp, 'plain');
    const stateDir = `${out}.checkpoint`;
    const before = tf.memory().numTensors;
    const { result, artifacts } = await trainTask.run(spec(`{${tiny}, "classes": "0,1", "lr": 0.01}`), {
      out,
      stateDir,
    });
    expect(result).toMatchObject({ task: 'train', schemaVersion: 1, arch: 'mlp', out, steps: 4, epochs: 1 });
    expect(result.data).toEqual({ name: 'mnist', split: 'train', count: 256 });
    expect(result.eval).toMatchObject({ split: 'test', count: 2115 });
    expect(result.accuracy).toBeGreaterThan(0.6);
    expect(result.testAccuracy).toBeGreaterThan(0.9);
    expect(result.metrics).toMatchObject({ testCount: 2115 });
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
    expect(artifacts).toEqual([]);
    for (const file of result.files) expect(existsSync(path.join(out, file)), file).toBe(true);
    const meta = JSON.parse(readFileSync(path.join(out, 'advkit.json'), 'utf8')) as {
      classNames: string[];
      architectureOptions: Record<string, unknown>;
    };
    expect(meta.classNames).toEqual(['0', '1']);
    expect(meta.architectureOptions).toEqual({ hiddenSizes: [16] });
    expect(tf.memory().numTensors).toBe(before);
    // A finished run's checkpoint is no interrupted run: the same spec runs again without resume or restart.
    expect(existsSync(path.join(stateDir, CHECKPOINT_FILE))).toBe(true);
    const again = await trainTask.run(spec(`{${tiny}, "classes": "0,1", "evalSplit": "none"}`), {
      out,
      stateDir,
    });
    expect(again.result.resumedFromStep).toBeUndefined();
  });

  it('errors name the spec keys and carry details.option (a surface names its own fields from it)', async () => {
    const out = path.join(tmp, 'never');
    const cases: [string, string, RegExp][] = [
      ['"attackStepSize": 0.1', 'attackStepSize', /'attackStepSize' applies only to adversarial training/],
      [
        '"adversarial": "pgd", "eps": 0.3, "beta": 6',
        'beta',
        /'beta' applies to 'adversarial' trades, not pgd/,
      ],
      [
        '"adversarial": "pgd", "eps": 0.3, "noiseSigma": 0.25',
        'noiseSigma',
        /'noiseSigma' \(Gaussian noise augmentation\) applies only to standard training/,
      ],
      ['"schedule": "step"', 'schedule', /needs 'stepSize' \(epochs\) or 'milestones'/],
      ['"stepSize": 2', 'stepSize', /'stepSize' and 'milestones' need schedule 'step'/],
      ['"schedule": "onecycle", "pctStart": 1', 'pctStart', /'pctStart' must be in \(0, 1\), got 1/],
      ['"arch": "vgg"', 'arch', /Unknown architecture 'vgg'\. Expected one of: /],
      ['"hidden": "16,x"', 'hidden', /'hidden' must be a comma-separated list of numbers, got '16,x'/],
    ];
    for (const [extra, option, message] of cases) {
      const err = await caughtAdvkitError(trainTask.run(spec(`{${tiny}, ${extra}}`), { out }));
      expect([err.code, err.details?.option], extra).toEqual(['INVALID_ARGUMENT', option]);
      expect(err.message, extra).toMatch(message);
    }
    expect(existsSync(out)).toBe(false);
  });

  it('an interrupted run throws ABORTED with its step and keeps its checkpoint; a rerun must say resume or restart', async () => {
    const out = path.join(tmp, 'interrupted');
    const stateDir = `${out}.checkpoint`;
    const stopped = new AbortController();
    stopped.abort();
    const aborted = await caughtAdvkitError(
      trainTask.run(spec(`{${tiny}, "evalSplit": "none"}`), { out, stateDir, signal: stopped.signal }),
    );
    expect(aborted.code).toBe('ABORTED');
    expect(aborted.details).toMatchObject({ step: 0, checkpoint: path.join(stateDir, CHECKPOINT_FILE) });
    expect(existsSync(path.join(stateDir, CHECKPOINT_FILE))).toBe(true);

    const refused = await caughtAdvkitError(
      trainTask.run(spec(`{${tiny}, "evalSplit": "none"}`), { out, stateDir }),
    );
    expect([refused.code, refused.details?.option]).toEqual(['INVALID_ARGUMENT', 'resume']);
    expect(refused.message).toMatch(
      /add 'resume' to continue it, or 'restart' to discard it and start afresh/,
    );
    const both = await caughtAdvkitError(
      trainTask.run(spec(`{${tiny}}`), { out, stateDir, resume: true, restart: true }),
    );
    expect(both.message).toMatch(/'resume' and 'restart' exclude each other/);

    const { result } = await trainTask.run(spec(`{${tiny}, "evalSplit": "none"}`), {
      out,
      stateDir,
      resume: true,
    });
    expect([result.resumedFromStep, result.steps]).toEqual([0, 4]);
    const missing = await caughtAdvkitError(
      trainTask.run(spec(`{${tiny}}`), { out, stateDir: path.join(tmp, 'none'), resume: true }),
    );
    expect([missing.code, missing.details?.option]).toEqual(['NOT_FOUND', 'resume']);
  });

  it('restart discards a checkpoint and trains afresh', async () => {
    const out = path.join(tmp, 'restarted');
    const stateDir = `${out}.checkpoint`;
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(path.join(stateDir, CHECKPOINT_FILE), 'not a checkpoint');
    const { result } = await trainTask.run(spec(`{${tiny}, "evalSplit": "none"}`), {
      out,
      stateDir,
      restart: true,
    });
    expect([result.resumedFromStep, result.steps]).toEqual([undefined, 4]);
  });

  it('refuses an output that is a file before reading any data', async () => {
    const file = path.join(tmp, 'a-file');
    writeFileSync(file, 'x');
    const err = await caughtAdvkitError(
      trainTask.run(spec(`{${tiny}, "data": "no-such-dataset"}`), { out: file }),
    );
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/it is a file, not a directory/);
  });

  it('says in a note and in the result when the test split is the bundled sample', async () => {
    const root = path.join(tmp, 'train-only');
    mkdirSync(path.join(root, 'mnist'), { recursive: true });
    for (const name of ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']) {
      symlinkSync(path.join(realDataRoot(), 'mnist', name), path.join(root, 'mnist', name));
    }
    const notes: string[] = [];
    const { result } = await withDataEnv(
      { advkitData: root, cacheHome: path.join(tmp, 'cache'), offline: true },
      () =>
        trainTask.run(spec(`{${tiny}}`), { out: path.join(tmp, 'sampled'), onNote: (n) => notes.push(n) }),
    );
    expect(result.eval).toEqual({
      name: 'mnist',
      split: 'test',
      count: 1000,
      sample: { count: 1000, fullCount: 10000 },
    });
    expect(result.notes).toEqual(notes);
    expect(notes.join('\n')).toMatch(/test accuracy is measured on the bundled sample/);
  });
});
