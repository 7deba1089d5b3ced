import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdvkitError } from '../../errors.js';
import { loadMnistFixture, type MnistFixture } from '../test-utils/mnist-fixture.js';
import { evaluatePatch } from './evaluate-patch.js';
import { trainPatch, type PatchProgress, type TrainedPatch } from './train-patch.js';

const TRAIN = 100;
const HELD_OUT = 300;
const TARGET = 2;

async function errorOf(promise: Promise<unknown>): Promise<AdvkitError> {
  const err = await promise.then(
    () => new Error('expected an AdvkitError'),
    (e: unknown) => e,
  );
  if (err instanceof AdvkitError) return err;
  throw err;
}

describe('trainPatch / evaluatePatch on the bundled MNIST CNN', () => {
  let f: MnistFixture;
  let train: tf.Tensor4D;
  let heldOut: tf.Tensor4D;
  let heldOutLabels: Int32Array;
  let trained: TrainedPatch;
  let tensorsBeforeTraining: number;
  const progress: PatchProgress[] = [];

  beforeAll(async () => {
    f = await loadMnistFixture(TRAIN + HELD_OUT);
    train = tf.slice(f.x, [0, 0, 0, 0], [TRAIN, -1, -1, -1]);
    heldOut = tf.slice(f.x, [TRAIN, 0, 0, 0], [HELD_OUT, -1, -1, -1]);
    heldOutLabels = f.labels.subarray(TRAIN);
    tensorsBeforeTraining = tf.memory().numTensors;
    // Half the image side (a 14x14 square), random places, +-22.5 degrees, scale 0.8-1.2: the paper's EOT.
    trained = await trainPatch(f.classifier, train, {
      target: TARGET,
      size: 0.5,
      shape: 'square',
      steps: 80,
      batchSize: 32,
      seed: 1,
      onProgress: (p) => progress.push(p),
    });
  });
  afterAll(() => {
    trained.patch.dispose();
    trained.mask.dispose();
    tf.dispose([train, heldOut]);
    f.dispose();
  });

  it('trains a universal patch that turns held-out digits into the target, far beyond a random patch', async () => {
    const options = { target: TARGET, shape: 'square', trials: 2, seed: 3 } as const;
    const result = await evaluatePatch(f.classifier, trained.patch, heldOut, heldOutLabels, options);
    const noise = tf.randomUniform(trained.patch.shape, 0, 1, 'float32', 11) as tf.Tensor3D;
    const baseline = await evaluatePatch(f.classifier, noise, heldOut, heldOutLabels, options);
    noise.dispose();
    // Measured (wasm, seed 1, 80 steps in ~6 s): 54.7% of the held-out digits that are not 2s become 2s; a
    // uniform-noise patch of the same size: 2.7%. Smaller patches are much weaker on this model: with 150 steps,
    // 0.4 of the side (11x11) reached 3-21% depending on the target and 0.3 (8x8) 4-8%, because a small patch
    // placed anywhere on a 28x28 digit must outvote the whole digit.
    expect(result.successRate).toBeGreaterThan(0.35);
    expect(baseline.successRate).toBeLessThan(0.1);
    expect(result.cleanTargetRate).toBe(0);
    const excluded = heldOutLabels.filter((y) => y === TARGET).length;
    expect(result.excluded).toBe(excluded);
    expect(result.evaluated).toBe(HELD_OUT - excluded);
    expect(result.attempts).toBe(2 * (HELD_OUT - excluded));
    expect(result.queries).toBe(3 * (HELD_OUT - excluded));
  });

  it('returns a square patch within bounds, its mask, a history and the cost; no tensor leaks', () => {
    expect(trained.patch.shape).toEqual([14, 14, 1]);
    expect(trained.mask.shape).toEqual([14, 14]);
    const values = trained.patch.dataSync();
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
    expect(trained.history).toHaveLength(80);
    const early = trained.history.slice(0, 10).reduce((s, h) => s + h.loss, 0);
    const late = trained.history.slice(-10).reduce((s, h) => s + h.loss, 0);
    expect(late).toBeLessThan(early);
    expect(trained.cost.gradients).toBe(80 * 32);
    expect(progress).toHaveLength(80);
    expect(progress.at(-1)?.step).toBe(80);
    // Only the returned patch and mask remain.
    expect(tf.memory().numTensors).toBe(tensorsBeforeTraining + 2);
  });

  it('gives the same patch for the same seed and another for another seed', async () => {
    const run = (seed: number): Promise<TrainedPatch> =>
      trainPatch(f.classifier, train, { target: TARGET, size: 0.3, steps: 3, batchSize: 8, seed });
    const [a, b, c] = [await run(5), await run(5), await run(6)];
    expect(Array.from(b.patch.dataSync())).toEqual(Array.from(a.patch.dataSync()));
    expect(Array.from(c.patch.dataSync())).not.toEqual(Array.from(a.patch.dataSync()));
    // A disc patch: its mask is 0 in the corners.
    expect(a.mask.dataSync()[0]).toBe(0);
    tf.dispose([a.patch, a.mask, b.patch, b.mask, c.patch, c.mask]);
  });

  it('rejects bad options with INVALID_ARGUMENT', async () => {
    const bad = [
      { target: 10 },
      { target: -1 },
      { target: 1.5 },
      { target: 0, size: 0 },
      { target: 0, size: 1.2 },
      { target: 0, steps: 0 },
      { target: 0, batchSize: 0 },
      { target: 0, learningRate: -1 },
      { target: 0, scaleRange: [1.2, 0.8] as const },
      { target: 0, maxRotation: 400 },
      { target: 0, shape: JSON.parse('"star"') },
    ];
    for (const options of bad) {
      expect((await errorOf(trainPatch(f.classifier, train, options))).code).toBe('INVALID_ARGUMENT');
    }
    const wrongShape = tf.zeros([2, 14, 14, 1]) as tf.Tensor4D;
    expect((await errorOf(trainPatch(f.classifier, wrongShape, { target: 0 }))).code).toBe(
      'INVALID_ARGUMENT',
    );
    wrongShape.dispose();
    const evalErr = await errorOf(
      evaluatePatch(f.classifier, trained.patch, heldOut, heldOutLabels, { target: 11 }),
    );
    expect(evalErr.code).toBe('INVALID_ARGUMENT');
    const trialsErr = evaluatePatch(f.classifier, trained.patch, heldOut, heldOutLabels, {
      target: 1,
      trials: 0,
    });
    expect((await errorOf(trialsErr)).code).toBe('INVALID_ARGUMENT');
  });

  it('stops with ABORTED when cancelled, leaking nothing', async () => {
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    const err = await errorOf(
      trainPatch(f.classifier, train, {
        target: TARGET,
        steps: 50,
        batchSize: 4,
        onProgress: (p) => {
          if (p.step === 2) controller.abort();
        },
        signal: controller.signal,
      }),
    );
    expect(err.code).toBe('ABORTED');
    expect(tf.memory().numTensors).toBe(before);
  });
});
