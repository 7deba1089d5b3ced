import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { realDataRoot } from '../data/test-utils/real-data.js';
import { caughtAdvkitError } from '../data/test-utils/scratch.js';
import { detectTask, type DetectProgress } from './detect.js';
import { TASKS } from './index.js';

/**
 * The detect task from JSON specs on the bundled MNIST CNN, kept small (a few dozen images, few steps): the
 * table's rows, the held-out false-positive rate, the learned detectors, resuming from the state, and bad input.
 */
let tmp: string;

beforeAll(async () => {
  process.env.ADVKIT_DATA = realDataRoot();
  await initNodeBackend();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-detect-'));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const small = {
  n: 30,
  calibration: 100,
  trainImages: 60,
  epochs: 2,
  cwSteps: 10,
  adaptiveSteps: 20,
};

describe('detect task', () => {
  it('is registered', () => {
    expect(TASKS.detect).toBe(detectTask);
  });

  it('feature squeezing: a row per attack, the held-out FPR near 5%, detect.json and detect.md; no leak', async () => {
    const before = tf.memory().numTensors;
    const stages = new Set<string>();
    const { result, artifacts } = await detectTask.run(
      { ...small, detector: 'feature-squeezing', attacks: 'pgd,fgsm,adaptive', squeezers: 'bits:3' },
      { onProgress: (p: DetectProgress) => stages.add(p.stage) },
    );
    expect(result).toMatchObject({
      task: 'detect',
      schemaVersion: 1,
      settings: { eps: 0.3, squeezers: 'bits:3' },
    });
    expect(result.rows.map((r) => r.attack)).toEqual(['fgsm', 'pgd', 'adaptive']);
    const [info] = result.detectors;
    expect(info.calibrationFpr).toBeLessThanOrEqual(0.05);
    expect(info.heldOutFpr).toBeLessThanOrEqual(0.15);
    const pgdRow = result.rows[1];
    expect(pgdRow.detectionRate).toBeGreaterThan(0.8);
    // The adaptive attack knows the detector: more of its adversarial inputs get through.
    expect(result.rows[2].undetectedAdversarial).toBeGreaterThan(pgdRow.undetectedAdversarial);
    // The worst case per image is at least every attack's own rate, and at most their sum.
    const [worst] = result.worstCase;
    expect(worst.attacks).toEqual(['fgsm', 'pgd', 'adaptive']);
    const rates = result.rows.map((r) => r.undetectedAdversarial);
    expect(worst.undetectedAdversarial).toBeGreaterThanOrEqual(Math.max(...rates));
    expect(worst.undetectedAdversarial).toBeLessThanOrEqual(rates.reduce((a, b) => a + b, 0) + 1e-9);
    expect(artifacts.map((a) => a.name)).toEqual(['detect.json', 'detect.md']);
    expect(new TextDecoder().decode(artifacts[1].bytes)).toMatch(/\| feature-squeezing \| .* \| adaptive \|/);
    expect(new TextDecoder().decode(artifacts[1].bytes)).toContain(
      'worst case per image (fgsm, pgd, adaptive)',
    );
    expect([...stages]).toEqual(expect.arrayContaining(['start', 'attack', 'row']));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('trains the binary detectors with advkit training; a stopped run resumes from its state, seeded', async () => {
    const stateDir = path.join(tmp, 'state');
    const spec = {
      ...small,
      trainImages: 100,
      epochs: 6,
      detector: 'binary-input,binary-activation',
      attacks: 'pgd',
    };
    const controller = new AbortController();
    let rows = 0;
    const stopped = await caughtAdvkitError(
      detectTask.run(spec, {
        stateDir,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.stage === 'row' && ++rows === 1) controller.abort();
        },
      }),
    );
    expect(stopped.code).toBe('ABORTED');
    const { result } = await detectTask.run(spec, { stateDir });
    expect(result.resumed).toBe(1);
    expect(result.rows.map((r) => r.detector)).toEqual(['binary-input', 'binary-activation']);
    for (const d of result.detectors) expect(d.training?.trainAccuracy).toBeGreaterThan(0.75);
    // Both flag most plain PGD examples (the kind they were trained on).
    for (const r of result.rows) expect(r.detectionRate).toBeGreaterThan(0.6);
    expect(result.detectors[1].training?.layer).toBeTruthy();
    const fresh = await detectTask.run(spec);
    expect(fresh.result.rows).toEqual(
      result.rows.map((r, i) => ({ ...r, seconds: fresh.result.rows[i].seconds })),
    );
    await expect(detectTask.run({ ...spec, seed: 5 }, { stateDir })).rejects.toThrow(/another detect run/);
  });

  it('bad input is INVALID_ARGUMENT naming what is expected', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { detector: 'magnet' },
        /unknown detector 'magnet'.*feature-squeezing, binary-input, binary-activation/,
      ],
      [{ attacks: 'pgd,deepfool' }, /unknown attacks 'deepfool'/],
      [{ fpr: 1.5 }, /fpr/],
      [{ eps: '0.1,0.3' }, /one Linf budget/],
      [{ eps: 2 }, /larger than the model's input range/],
      [{ squeezers: 'resize-pad:0.3' }, /deterministic squeezers/],
      [{ n: 0 }, /n/],
      [{ model: path.join(tmp, 'nowhere') }, /nowhere/],
    ];
    for (const [spec, message] of cases) {
      const err = await caughtAdvkitError(
        detectTask.run({ detector: 'feature-squeezing', n: 2, calibration: 2, ...spec }),
      );
      expect(err.message, JSON.stringify(spec)).toMatch(message);
      expect(['INVALID_ARGUMENT', 'NOT_FOUND']).toContain(err.code);
    }
  });
});
