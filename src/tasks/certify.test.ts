import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { caughtAdvkitError, scratchDir } from '../data/test-utils/scratch.js';
import { clopperPearsonLower, normalInverseCdf } from '../defend/statistics.js';
import {
  certifyTask,
  maxCertifiableRadius,
  parseRadii,
  type CertifiedPoint,
  type CertifyProgress,
} from './certify.js';
import { TASKS } from './index.js';

/** The certify task from plain JSON specs, with no CLI: the bundled MNIST CNN, a few images, few samples. */
beforeAll(async () => {
  await initNodeBackend();
});

const tiny = { model: 'mnist-cnn', sigma: 0.25, n: 3, n0: 20, samples: 200, batchSize: 128, seed: 5 };

/** A point without its timing, which is the only thing that may differ between runs. */
const certificate = ({ seconds: _seconds, ...rest }: CertifiedPoint) => rest;

describe('certify task', () => {
  it('runs from a JSON spec: a certificate per image, certified accuracy per radius, the curve, and no tensor left', async () => {
    const before = tf.memory().numTensors;
    const events: CertifyProgress[] = [];
    const spec = JSON.parse(JSON.stringify({ ...tiny, radii: '0.5,0,0.25' })) as Record<string, unknown>;
    const { result, artifacts } = await certifyTask.run(spec, { onProgress: (p) => events.push(p) });
    expect(tf.memory().numTensors).toBe(before);
    expect(TASKS.certify).toBe(certifyTask);
    expect(result).toMatchObject({
      task: 'certify',
      schemaVersion: 1,
      model: { name: 'mnist-cnn' },
      data: { name: 'mnist', split: 'test', n: 3 },
      settings: { sigma: 0.25, n0: 20, samples: 200, alpha: 0.001, batchSize: 128, seed: 5 },
      resumed: 0,
    });
    expect(result.points.map((p) => [p.index, p.source])).toEqual([
      [0, 'mnist/test#0'],
      [1, 'mnist/test#1'],
      [2, 'mnist/test#2'],
    ]);
    const cap = maxCertifiableRadius(0.25, 200, 0.001);
    for (const p of result.points) {
      expect(p.correct).toBe(p.prediction === p.label);
      expect(p.radius).toBeGreaterThanOrEqual(0);
      expect(p.radius).toBeLessThanOrEqual(cap + 1e-9);
      if (p.prediction === -1) expect(p.radius).toBe(0);
      else expect(p.radius).toBeCloseTo(0.25 * normalInverseCdf(p.pALower), 9);
    }
    // The MNIST CNN is right on these three digits, and light noise (0.25 on [0, 1]) does not fool it.
    expect(result.points.every((p) => p.correct)).toBe(true);
    expect(result.certifiedAccuracy.map((c) => c.radius)).toEqual([0, 0.25, 0.5]);
    expect(result.certifiedAccuracy[0].accuracy).toBe(1);
    const at = (r: number) => result.points.filter((p) => p.correct && p.radius >= r).length / 3;
    expect(result.certifiedAccuracy.map((c) => c.accuracy)).toEqual([at(0), at(0.25), at(0.5)]);
    expect(result.abstained).toBe(0);
    expect(result.secondsPerImage).toBeGreaterThan(0);
    expect(result.sampleLimit).toMatchObject({ samples: 200, alpha: 0.001, maxRadius: cap });
    expect(result.sampleLimit.withTenthSamples).toBeLessThan(cap);
    expect(result.sampleLimit.withTenTimesSamples).toBeGreaterThan(cap);
    expect(result.sampleLimit.explanation).toContain('Fewer samples lower this cap');
    expect(events.filter((e) => e.stage === 'point').map((e) => e.point)).toEqual([0, 1, 2]);
    expect(events[0]).toMatchObject({ stage: 'start', points: 3, resumed: 0, copiesPerImage: 220 });
    expect(artifacts.map((a) => [a.name, a.mediaType])).toEqual([
      ['certify.json', 'application/json'],
      ['certify.svg', 'image/svg+xml'],
      ['report.html', 'text/html'],
    ]);
    expect(JSON.parse(new TextDecoder().decode(artifacts[0].bytes))).toEqual(
      JSON.parse(JSON.stringify(result)),
    );
    expect(new TextDecoder().decode(artifacts[1].bytes)).toContain('certified accuracy');
    const html = new TextDecoder().decode(artifacts[2].bytes);
    expect(html).toContain('<title>Certified robustness of mnist-cnn on mnist</title>');
    expect(html).toContain('mnist/test#2');
    expect(html).not.toMatch(/<script|https?:/);
    expect(result.radiusCheck).toBeUndefined();
  });

  it('attacks certified images inside their radius and never changes the smoothed class (attackCheck)', async () => {
    const before = tf.memory().numTensors;
    const { result, artifacts } = await certifyTask.run({ ...tiny, n: 2, samples: 1000, attackCheck: 2 });
    expect(tf.memory().numTensors).toBe(before);
    const check = result.radiusCheck;
    expect(check).toMatchObject({
      attacked: 2,
      changed: 0,
      attack: { name: 'pgd', norm: 'l2', steps: 40, eot: 16 },
    });
    for (const p of check?.points ?? []) {
      expect(p.distance).toBeLessThanOrEqual(p.radius * (1 + 1e-5));
      expect(p.source).toBe(result.points[p.index].source);
    }
    expect(new TextDecoder().decode(artifacts[2].bytes)).toContain('the smoothed class changed on 0');
  }, 120_000);

  it('a stopped run continued from its state gives what an uninterrupted run gives; other settings are refused', async () => {
    const whole = await certifyTask.run(tiny, { stateDir: scratchDir() });
    const stateDir = scratchDir();
    const controller = new AbortController();
    const stopped = await caughtAdvkitError(
      certifyTask.run(tiny, {
        stateDir,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.stage === 'point' && p.point === 0) controller.abort();
        },
      }),
    );
    expect(stopped.code).toBe('ABORTED');
    const state = JSON.parse(readFileSync(path.join(stateDir, 'certify-state.json'), 'utf8')) as {
      points: unknown[];
    };
    expect(state.points).toHaveLength(1);
    const before = tf.memory().numTensors;
    const notes: string[] = [];
    const resumed = await certifyTask.run(tiny, { stateDir, onNote: (n) => notes.push(n) });
    expect(tf.memory().numTensors).toBe(before);
    expect(resumed.result.resumed).toBe(1);
    expect(notes.join('\n')).toContain('1 of 3 images read back');
    expect(resumed.result.points.map(certificate)).toEqual(whole.result.points.map(certificate));
    expect(resumed.result.certifiedAccuracy).toEqual(whole.result.certifiedAccuracy);
    // Fewer images: the first ones are read back, nothing is certified.
    const fewer = await certifyTask.run({ ...tiny, n: 2 }, { stateDir });
    expect(fewer.result.resumed).toBe(2);
    expect(fewer.result.points.map(certificate)).toEqual(whole.result.points.slice(0, 2).map(certificate));

    const other = await caughtAdvkitError(certifyTask.run({ ...tiny, sigma: 0.5 }, { stateDir }));
    expect(other.code).toBe('INVALID_ARGUMENT');
    expect(other.message).toContain('sigma was 0.25, now 0.5');
    expect(other.message).toContain("add 'restart'");
    const restarted = await certifyTask.run({ ...tiny, sigma: 0.5, n: 1 }, { stateDir, restart: true });
    expect(restarted.result.resumed).toBe(0);
  });

  it.each([
    [{ sigma: 0 }, 'sigma must be'],
    [{ sigma: -1 }, 'sigma must be'],
    [{ sigma: undefined }, "'sigma' is required"],
    [{ model: undefined }, "'model' is required"],
    [
      { samples: 10, n0: 20 },
      "'samples' (10, the noisy copies that bound the top class's probability) must be at least 'n0' (20",
    ],
    [{ alpha: 0 }, 'alpha must be'],
    [{ alpha: 1 }, 'alpha must be'],
    [{ radii: '0,-1' }, "'radii' must be L2 radii >= 0"],
    [{ radii: 'a' }, "'radii' must be L2 radii >= 0"],
  ])('refuses %j before any work, saying what is expected', async (change, message) => {
    const stateDir = scratchDir();
    const err = await caughtAdvkitError(certifyTask.run({ ...tiny, ...change }, { stateDir }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain(message);
    expect(existsSync(path.join(stateDir, 'certify-state.json'))).toBe(false);
  });
});

describe('certify helpers', () => {
  it('caps the radius at sigma * Phi^-1(alpha^(1/N)), the Clopper-Pearson bound when every copy agrees', () => {
    expect(maxCertifiableRadius(0.25, 1000, 0.001)).toBeCloseTo(
      0.25 * normalInverseCdf(0.001 ** (1 / 1000)),
      12,
    );
    expect(maxCertifiableRadius(0.25, 1000, 0.001)).toBeCloseTo(
      0.25 * normalInverseCdf(clopperPearsonLower(1000, 1000, 0.001)),
      6,
    );
    expect(maxCertifiableRadius(0.25, 100_000, 0.001)).toBeCloseTo(0.25 * 3.8, 1);
    expect(maxCertifiableRadius(0.5, 5, 0.001)).toBe(0);
  });

  it('parses radii: ascending, each once, the default when none', () => {
    expect(parseRadii(undefined)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(parseRadii(' 0.5, 0,0.5 ')).toEqual([0, 0.5]);
    expect(parseRadii([1, 0.25])).toEqual([0.25, 1]);
  });
});
