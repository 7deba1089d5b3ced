import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../backend/node-backend.js';
import type { Classifier } from '../../models/classifier.js';
import { createClassifier } from '../../models/create-classifier.js';
import { decodeCheckpoint, MemoryCheckpointStore } from '../checkpoint.js';
import { allModelVariables } from '../model-weights.js';
import type { TrainOptions } from '../options.js';
import { blobDataset, tinyBatchNormCnn } from '../test-utils/fixtures.js';
import { train, type TrainProgress, type TrainResult } from '../train.js';
import { trainingMetadata } from '../training-metadata.js';
import { ADVERSARIAL_METHODS, type AdversarialOptions } from './options.js';

// Conv weight gradients of the tiny CNN are quick on cpu; every model here is a few hundred weights.
beforeAll(async () => {
  await initNodeBackend({ backend: 'cpu' });
});

const blobs = blobDataset({ count: 70, size: 8, classes: 4 });
const testBlobs = { ...blobDataset({ count: 40, size: 8, classes: 4, seed: 2 }), split: 'test' };

function mlp(seed = 0): Classifier {
  return createClassifier('mlp', { inputShape: [8, 8, 1], numClasses: 4, seed, hiddenSizes: [16] });
}

function snapshot(classifier: Classifier): Float32Array[] {
  return allModelVariables(classifier).map((v) => Float32Array.from(v.dataSync()));
}

function expectSameWeights(a: Classifier, b: Classifier): void {
  const [wa, wb] = [snapshot(a), snapshot(b)];
  expect(wb.length).toBe(wa.length);
  wa.forEach((w, i) => expect(Array.from(wb[i])).toEqual(Array.from(w)));
}

const base: TrainOptions = { epochs: 2, batchSize: 16, optimizer: 'adam', lr: 0.01, seed: 1 };

const perMethod: Record<AdversarialOptions['method'], AdversarialOptions> = {
  pgd: { method: 'pgd', eps: 0.2, steps: 3 },
  'fgsm-rs': { method: 'fgsm-rs', eps: 0.2, guard: { batchSize: 16, steps: 3 } },
  free: { method: 'free', eps: 0.2, replays: 2 },
  trades: { method: 'trades', eps: 0.2, steps: 3 },
};

describe('adversarial training', () => {
  it('every method trains, reports clean and adversarial metrics, warms eps up on schedule, leaks nothing', async () => {
    for (const method of ADVERSARIAL_METHODS) {
      const classifier = mlp();
      const reports: TrainProgress[] = [];
      const tensorsAtStep: number[] = [];
      const tensorsBefore = tf.memory().numTensors;
      const result = await train(
        classifier,
        blobs,
        { ...base, labelSmoothing: 0.1, adversarial: { ...perMethod[method], epsWarmup: 1 } },
        {
          eval: testBlobs,
          onProgress: (p) => {
            reports.push(p);
            if (p.phase === 'step') tensorsAtStep.push(tf.memory().numTensors);
          },
        },
      );
      const replays = method === 'free' ? 2 : 1;
      const stepsPerEpoch = 5 * replays;
      expect(result, method).toMatchObject({ completed: true, steps: 2 * stepsPerEpoch, epochs: 2 });
      const steps = reports.filter((p) => p.phase === 'step');
      // eps rises linearly over the first epoch (steps 0..stepsPerEpoch-1) and is the target from then on.
      steps.forEach((p, i) => {
        expect(p.adversarial?.eps, `${method} step ${i}`).toBeCloseTo(
          0.2 * Math.min(1, i / stepsPerEpoch),
          12,
        );
      });
      expect(steps[stepsPerEpoch].adversarial?.eps).toBe(0.2);
      expect(steps[stepsPerEpoch - 1].adversarial?.eps).toBeLessThan(0.2);
      for (const p of steps.slice(1)) {
        const a = p.adversarial;
        expect(a?.cleanAccuracy, method).toBeGreaterThanOrEqual(0);
        expect(a?.adversarialAccuracy, method).toBeLessThanOrEqual(1);
        expect(a?.cleanLoss, method).toBeGreaterThan(0);
        expect(a?.adversarialLoss, method).toBeGreaterThan(0);
        expect(p.accuracy).toBe(a?.adversarialAccuracy);
        expect(p.imagesPerSecond).toBeGreaterThan(0);
      }
      const last = result.history[1];
      expect(last.eps).toBe(0.2);
      expect(last.adversarialAccuracy, method).toBeLessThanOrEqual((last.cleanAccuracy ?? 0) + 0.05);
      expect(last.evalAccuracy, method).toBeGreaterThan(0.5);
      expect(new Set(tensorsAtStep.slice(1)).size, `${method} leaks tensors`).toBe(1);
      expect(tf.memory().numTensors, `${method} leaves tensors behind`).toBe(tensorsBefore);
      if (method === 'fgsm-rs') {
        const epochs = reports.filter((p) => p.phase === 'epoch');
        expect(epochs.map((p) => p.robustAccuracy)).toEqual(result.guard?.robustAccuracy);
        expect(result.guard).toMatchObject({ source: 'eval', count: 16, steps: 3, collapsedAtEpoch: null });
        expect(result.history.map((h) => h.robustAccuracy)).toEqual(result.guard?.robustAccuracy);
      } else {
        expect(result.guard).toBeUndefined();
      }
      classifier.dispose();
    }
  });

  it('PGD-AT stopped and killed mid-run, resumed, reaches bit-identical weights (batch-norm, augmentation, accumulation)', async () => {
    const data = blobDataset({ count: 40, size: 8, channels: 3, classes: 4, seed: 5 });
    const cnn = (seed: number): Classifier =>
      tinyBatchNormCnn({ inputShape: [8, 8, 3], numClasses: 4, seed });
    const opts: TrainOptions = {
      epochs: 2,
      batchSize: 8,
      accumulate: 2, // 3 steps per epoch: 16, 16, 8 images
      optimizer: 'sgd',
      lr: 0.05,
      schedule: 'onecycle',
      labelSmoothing: 0.1,
      augment: 'crop-flip',
      seed: 9,
      checkpointEvery: 2,
      adversarial: { method: 'pgd', eps: 0.1, steps: 2, epsWarmup: 0.5, cleanWeight: 0.3 },
    };
    await expectResumeMatches(cnn, data, opts, { stopAfter: 4, killAt: 5, resumedFrom: 4, total: 6 });
  });

  it('Free AT resumed after a stop and a kill keeps its perturbation and reaches bit-identical weights', async () => {
    const opts: TrainOptions = {
      ...base,
      batchSize: 12,
      accumulate: 2, // 3 batches per epoch of 24, 24, 22 images, each replayed 3 times
      augment: 'crop-flip',
      checkpointEvery: 2,
      adversarial: { method: 'free', eps: 0.2, replays: 3 },
    };
    // The stop is asked during step 4 (the second batch's first replay) and happens after its replays.
    await expectResumeMatches(mlp, blobs, opts, { stopAfter: 4, killAt: 8, resumedFrom: 6, total: 18 });
    const store = new MemoryCheckpointStore();
    await train(mlp(), blobs, { ...opts, epochs: 1 }, { checkpoint: store });
    const ckpt = decodeCheckpoint((await store.read()) ?? new Uint8Array(), 'memory');
    const delta = ckpt.extra?.freeDelta?.[0] ?? new Float32Array();
    expect(delta.length).toBe(24 * 64);
    expect(Math.max(...delta.map(Math.abs))).toBeCloseTo(0.2, 6);
  });

  it('FGSM-RS resumed keeps its guard history and ends with the same weights', async () => {
    const opts: TrainOptions = {
      ...base,
      epochs: 3,
      batchSize: 24, // 3 steps per epoch
      adversarial: { method: 'fgsm-rs', eps: 0.3, guard: { batchSize: 16, steps: 2 } },
    };
    const straight = await expectResumeMatches(mlp, blobs, opts, {
      stopAfter: 4,
      killAt: 8,
      resumedFrom: 6,
      total: 9,
    });
    expect(straight.guard?.robustAccuracy).toHaveLength(3);
  });

  it('TRADES with beta = 0 is standard training on the same seed (augmentation, accumulation, smoothing)', async () => {
    const opts: TrainOptions = {
      ...base,
      batchSize: 12,
      accumulate: 2,
      augment: 'crop-flip',
      labelSmoothing: 0.1,
    };
    const standard = mlp(4);
    const a = await train(standard, blobs, opts);
    const trades = mlp(4);
    const b = await train(trades, blobs, {
      ...opts,
      adversarial: { method: 'trades', eps: 0.3, beta: 0, steps: 2 },
    });
    expectSameWeights(standard, trades);
    expect(b.history.map((h) => h.loss)).toEqual(a.history.map((h) => h.loss));
    // ...and beta > 0 is not.
    const robust = mlp(4);
    await train(robust, blobs, { ...opts, adversarial: { method: 'trades', eps: 0.3, beta: 6, steps: 2 } });
    expect(Array.from(snapshot(robust)[0])).not.toEqual(Array.from(snapshot(standard)[0]));
    [standard, trades, robust].forEach((c) => c.dispose());
  });

  it('refuses bad adversarial options and data without labels with clear errors', async () => {
    const classifier = mlp();
    const bad: [TrainOptions['adversarial'], RegExp][] = [
      [{ method: 'pgd', eps: 2 }, /'eps' 2 is outside \(0, 1\]/],
      [{ method: 'pgd', eps: 0 }, /'eps' must be a positive number/],
      [{ method: 'trades', eps: 0.1, steps: 0 }, /'steps' must be an integer >= 1, got 0/],
      [{ method: 'free', eps: 0.1, norm: 'l2' }, /'free' supports the norm linf, not 'l2'/],
    ];
    for (const [adversarial, message] of bad) {
      await expect(train(classifier, blobs, { ...base, adversarial })).rejects.toThrow(message);
    }
    const store = new MemoryCheckpointStore();
    await train(
      classifier,
      blobs,
      { ...base, epochs: 1, adversarial: { method: 'pgd', eps: 0.1, steps: 1 } },
      { checkpoint: store },
    );
    await expect(
      train(
        classifier,
        blobs,
        { ...base, epochs: 1, adversarial: { method: 'pgd', eps: 0.2, steps: 1 } },
        { checkpoint: store, resume: true },
      ),
    ).rejects.toThrow(
      /belongs to a different run: option adversarial was \{.*"eps":0.1.*\}, now \{.*"eps":0.2/,
    );
    const unlabelled = { ...blobs, labels: new Int32Array(0) };
    await expect(
      train(classifier, unlabelled, { ...base, adversarial: { method: 'pgd', eps: 0.1 } }),
    ).rejects.toThrow(/Adversarial training needs a label for every image/);
    classifier.dispose();
  });

  it('records how a robust model was trained in its metadata', async () => {
    const classifier = mlp();
    const result = await train(
      classifier,
      blobs,
      { ...base, epochs: 1, adversarial: { method: 'fgsm-rs', eps: 0.1, guard: { batchSize: 8, steps: 2 } } },
      {},
    );
    const meta = trainingMetadata(result, blobs);
    expect(meta.training?.adversarial).toEqual({
      method: 'fgsm-rs',
      norm: 'linf',
      eps: 0.1,
      epsWarmup: 0,
      stepSize: 0.125,
      randomStart: true,
      cleanWeight: 0,
      guard: { batchSize: 8, steps: 2 },
    });
    expect(meta.training?.guard).toMatchObject({ source: 'train', count: 8, bestEpoch: 0, restored: false });
    expect(Object.keys(meta.metrics ?? {})).toEqual(
      expect.arrayContaining(['trainCleanAccuracy', 'trainAdversarialAccuracy', 'guardRobustAccuracy']),
    );
    classifier.dispose();
  });
});

/**
 * Trains straight through; then stops one run with the signal (asked after step `stopAfter`) and kills
 * another by throwing at step `killAt`; each resumed from its checkpoint must end with the straight run's
 * weights and history.
 */
async function expectResumeMatches(
  build: (seed: number) => Classifier,
  data: ReturnType<typeof blobDataset>,
  opts: TrainOptions,
  at: { stopAfter: number; killAt: number; resumedFrom: number; total: number },
): Promise<TrainResult> {
  const straight = build(1);
  const straightResult = await train(straight, data, opts);
  expect(straightResult.steps).toBe(at.total);

  const stoppedStore = new MemoryCheckpointStore();
  const controller = new AbortController();
  const first = build(1);
  const stopped = await train(first, data, opts, {
    checkpoint: stoppedStore,
    signal: controller.signal,
    onProgress: (p) => {
      if (p.step === at.stopAfter) controller.abort();
    },
  });
  expect(stopped.completed).toBe(false);
  first.dispose();

  const crashedStore = new MemoryCheckpointStore();
  const second = build(1);
  await expect(
    train(second, data, opts, {
      checkpoint: crashedStore,
      onProgress: (p) => {
        if (p.step === at.killAt) throw new Error('killed');
      },
    }),
  ).rejects.toThrow('killed');
  second.dispose();

  for (const [store, from] of [
    [stoppedStore, stopped.steps],
    [crashedStore, at.resumedFrom],
  ] as const) {
    const resumed = build(2); // another init: every weight must come from the checkpoint
    const result = await train(
      resumed,
      data,
      { ...opts, checkpointEvery: 1 },
      { checkpoint: store, resume: true },
    );
    expect(result).toMatchObject({ completed: true, steps: at.total, resumedFromStep: from });
    expectSameWeights(straight, resumed);
    expect(result.history.map((h) => h.loss)).toEqual(straightResult.history.map((h) => h.loss));
    expect(result.history.map((h) => h.adversarialAccuracy)).toEqual(
      straightResult.history.map((h) => h.adversarialAccuracy),
    );
    expect(result.guard).toEqual(straightResult.guard);
    resumed.dispose();
  }
  straight.dispose();
  return straightResult;
}
