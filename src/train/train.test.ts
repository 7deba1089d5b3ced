import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { take, toTensors } from '../data/dataset.js';
import { initNodeBackend } from '../backend/node-backend.js';
import { AdvkitError } from '../errors.js';
import type { Classifier } from '../models/classifier.js';
import { createClassifier } from '../models/create-classifier.js';
import { MemoryCheckpointStore } from './checkpoint.js';
import { allModelVariables } from './model-weights.js';
import type { TrainOptions } from './options.js';
import { blobDataset, tinyBatchNormCnn } from './test-utils/fixtures.js';
import { train, type TrainProgress } from './train.js';

// Conv weight gradients need the cpu backend until advkit's wasm gradient kernels are registered.
beforeAll(async () => {
  await initNodeBackend({ backend: 'cpu' });
});

const blobs = blobDataset({ count: 70, size: 8, classes: 4 });
const testBlobs = { ...blobDataset({ count: 40, size: 8, classes: 4, seed: 2 }), split: 'test' };

function mlp(seed = 0, hiddenSizes = [16]): Classifier {
  return createClassifier('mlp', { inputShape: [8, 8, 1], numClasses: 4, seed, hiddenSizes });
}

function snapshot(classifier: Classifier): Float32Array[] {
  return allModelVariables(classifier).map((v) => Float32Array.from(v.dataSync()));
}

async function errorOf(promise: Promise<unknown>): Promise<AdvkitError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AdvkitError) return err;
    throw err;
  }
  throw new Error('expected an AdvkitError');
}

describe('train', () => {
  it('learns, reports progress with every field, evaluates each epoch and leaks no tensor per step', async () => {
    const classifier = mlp();
    const reports: TrainProgress[] = [];
    const tensorsAtStep: number[] = [];
    const result = await train(
      classifier,
      blobs,
      {
        epochs: 3,
        batchSize: 16,
        optimizer: 'adam',
        lr: 0.01,
        seed: 1,
        schedule: 'cosine',
        labelSmoothing: 0.1,
      },
      {
        eval: testBlobs,
        onProgress: (p) => {
          reports.push(p);
          if (p.phase === 'step') tensorsAtStep.push(tf.memory().numTensors);
        },
      },
    );
    expect(result.completed).toBe(true);
    expect(result.steps).toBe(3 * 5);
    expect(result.epochs).toBe(3);
    expect(result.history.map((h) => h.epoch)).toEqual([0, 1, 2]);
    expect(result.history[2].loss).toBeLessThan(result.history[0].loss);
    expect(result.accuracy).toBeGreaterThan(0.9);
    expect(result.evalAccuracy).toBeGreaterThan(0.9);
    expect(result.options.momentum).toBe(0.9); // resolved options, defaults filled in

    const steps = reports.filter((p) => p.phase === 'step');
    expect(steps.map((p) => p.step)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(steps[6]).toMatchObject({ epoch: 1, epochs: 3, batch: 2, batchesPerEpoch: 5, totalSteps: 15 });
    expect(steps[0].lr).toBe(0.01);
    expect(steps[14].lr).toBeLessThan(0.001); // cosine towards 0
    for (const p of steps) {
      expect(p.imagesPerSecond).toBeGreaterThan(0);
      expect(p.loss).toBeGreaterThan(0);
      expect(p.accuracy).toBeGreaterThanOrEqual(0);
    }
    const epochs = reports.filter((p) => p.phase === 'epoch');
    expect(epochs.map((p) => p.evalAccuracy)).toEqual(result.history.map((h) => h.evalAccuracy));
    // Tensor count is stable from step to step (the first step may create lazily built state).
    expect(new Set(tensorsAtStep.slice(1)).size).toBe(1);
    classifier.dispose();
  });

  it('gradient accumulation over k micro-batches equals one k-times bigger batch (no batch-norm)', async () => {
    // 70 images in steps of 36: micro-batches of 12,12,12 then 12,12,10 (the short one weighs less).
    const opts: TrainOptions = {
      epochs: 2,
      batchSize: 36,
      optimizer: 'sgd',
      lr: 0.1,
      momentum: 0.9,
      seed: 4,
    };
    const big = mlp(3);
    await train(big, blobs, opts);
    const accumulated = mlp(3);
    await train(accumulated, blobs, { ...opts, batchSize: 12, accumulate: 3 });
    const [a, b] = [snapshot(big), snapshot(accumulated)];
    a.forEach((w, i) => w.forEach((v, j) => expect(b[i][j]).toBeCloseTo(v, 5)));
    big.dispose();
    accumulated.dispose();
  });

  it('stopped mid-epoch and resumed, reaches bit-identical weights (batch-norm, augmentation, schedule)', async () => {
    const data = blobDataset({ count: 40, size: 8, channels: 3, classes: 4, seed: 5 });
    const cnn = (seed: number): Classifier =>
      tinyBatchNormCnn({ inputShape: [8, 8, 3], numClasses: 4, seed });
    const opts: TrainOptions = {
      epochs: 2,
      batchSize: 8,
      accumulate: 2, // 3 steps per epoch: 16, 16, 8 images
      optimizer: 'sgd',
      lr: 0.05,
      nesterov: true,
      weightDecay: 5e-4,
      schedule: 'onecycle',
      labelSmoothing: 0.1,
      augment: 'crop-flip',
      seed: 9,
      checkpointEvery: 2,
    };
    const straight = cnn(1);
    const straightResult = await train(straight, data, opts);

    // Stopped by the signal after step 4 (mid-epoch 1): the checkpoint is written on the way out.
    const stoppedStore = new MemoryCheckpointStore();
    const controller = new AbortController();
    const first = cnn(1);
    const stopped = await train(first, data, opts, {
      checkpoint: stoppedStore,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.step === 4) controller.abort();
      },
    });
    expect(stopped).toMatchObject({ completed: false, steps: 4, epochs: 1 });
    first.dispose();

    // Killed during step 5: only the periodic checkpoint of step 4 exists, step 5 is done again.
    const crashedStore = new MemoryCheckpointStore();
    const second = cnn(1);
    await expect(
      train(second, data, opts, {
        checkpoint: crashedStore,
        onProgress: (p) => {
          if (p.step === 5) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    second.dispose();

    for (const store of [stoppedStore, crashedStore]) {
      // A fresh model with another init seed: every weight (moving statistics too) must come from the checkpoint.
      const resumed = cnn(2);
      const result = await train(
        resumed,
        data,
        { ...opts, checkpointEvery: 1 },
        { checkpoint: store, resume: true },
      );
      expect(result).toMatchObject({ completed: true, steps: 6, resumedFromStep: 4 });
      const [a, b] = [snapshot(straight), snapshot(resumed)];
      expect(b.length).toBeGreaterThan(resumed.trainableVariables().length); // moving mean/variance included
      a.forEach((w, i) => expect(Array.from(b[i])).toEqual(Array.from(w)));
      expect(result.history.map((h) => h.loss)).toEqual(straightResult.history.map((h) => h.loss));
      resumed.dispose();
    }
    straight.dispose();
  });

  it('seeds dropout masks: fresh masks each step, the same run for the same seed, resumed or not', async () => {
    const data = blobDataset({ count: 32, size: 8, channels: 3, classes: 4, seed: 2 });
    const model = (): Classifier =>
      tinyBatchNormCnn({ inputShape: [8, 8, 3], numClasses: 4, seed: 3, dropout: 0.5 });
    const opts: TrainOptions = { epochs: 2, batchSize: 8, optimizer: 'adam', lr: 0.01, seed: 4 };
    const runs: Float32Array[][] = [];
    for (let i = 0; i < 2; i++) {
      const m = model();
      await train(m, data, opts);
      runs.push(snapshot(m));
      m.dispose();
    }
    runs[0].forEach((w, i) => expect(Array.from(runs[1][i])).toEqual(Array.from(w)));
    const store = new MemoryCheckpointStore();
    const controller = new AbortController();
    const first = model();
    await train(first, data, opts, {
      checkpoint: store,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.step === 5) controller.abort();
      },
    });
    first.dispose();
    const resumed = model();
    await train(resumed, data, opts, { checkpoint: store, resume: true });
    snapshot(resumed).forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(runs[0][i])));
    resumed.dispose();
    const other = model();
    await train(other, data, { ...opts, seed: 5 });
    expect(Array.from(snapshot(other)[0])).not.toEqual(Array.from(runs[0][0]));
    other.dispose();
  });

  it('noiseSigma: every step the model sees its batch plus fresh seeded N(0, sigma^2) noise, resumed or not', async () => {
    const data = blobDataset({ count: 32, size: 8, classes: 4, seed: 3 });
    const sigma = 0.25;
    // 2 epochs of 2 unshuffled steps: step k trains on images (k % 2) * 16 .. +16.
    const opts: TrainOptions = {
      epochs: 2,
      batchSize: 16,
      optimizer: 'sgd',
      lr: 0.1,
      shuffle: false,
      seed: 6,
      noiseSigma: sigma,
    };
    /** Trains a fresh mlp, recording the batch that every training forward pass saw and the tensor counts. */
    const run = async (
      o: TrainOptions,
      hooks: Parameters<typeof train>[3] = {},
    ): Promise<{ seen: Float32Array[]; weights: Float32Array[]; tensors: number[] }> => {
      const m = mlp(2);
      const seen: Float32Array[] = [];
      const tensors: number[] = [];
      const logits = m.logits.bind(m);
      m.logits = (x, lo) => {
        if (lo?.training === true) seen.push(Float32Array.from(x.dataSync()));
        return logits(x, lo);
      };
      try {
        await train(m, data, o, {
          ...hooks,
          onProgress: (p) => {
            if (p.phase === 'step') tensors.push(tf.memory().numTensors);
            hooks.onProgress?.(p);
          },
        });
        return { seen, weights: snapshot(m), tensors };
      } finally {
        m.dispose();
      }
    };

    const noisy = await run(opts);
    expect(noisy.seen).toHaveLength(4);
    const clean = [0, 1].map((half) => {
      const { x, y } = toTensors(
        data,
        Int32Array.from({ length: 16 }, (_, i) => half * 16 + i),
      );
      const values = Float32Array.from(x.dataSync());
      tf.dispose([x, y]);
      return values;
    });
    const noises = noisy.seen.map((batch, k) => batch.map((v, i) => v - clean[k % 2][i]));
    for (const noise of noises) {
      const mean = noise.reduce((s, v) => s + v, 0) / noise.length;
      const std = Math.sqrt(noise.reduce((s, v) => s + (v - mean) ** 2, 0) / noise.length);
      expect(Math.abs(mean)).toBeLessThan(0.03); // 1024 draws: standard error 0.008
      expect(std).toBeGreaterThan(0.22);
      expect(std).toBeLessThan(0.28);
    }
    expect(Array.from(noises[2])).not.toEqual(Array.from(noises[0])); // fresh noise for the same images
    expect(noisy.seen.some((b) => b.some((v) => v < 0 || v > 1))).toBe(true); // not clipped
    expect(new Set(noisy.tensors.slice(1)).size).toBe(1); // no tensor leaked per step

    // The same seed gives the same noise and weights; another seed other noise; sigma 0 the clean batch.
    const again = await run(opts);
    again.seen.forEach((b, k) => expect(Array.from(b)).toEqual(Array.from(noisy.seen[k])));
    again.weights.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(noisy.weights[i])));
    const other = await run({ ...opts, seed: 7 });
    expect(Array.from(other.seen[0])).not.toEqual(Array.from(noisy.seen[0]));
    const off = await run({ ...opts, noiseSigma: 0 });
    off.seen.forEach((b, k) => expect(Array.from(b)).toEqual(Array.from(clean[k % 2])));

    // Stopped after step 1 and resumed: the same noise from step 2 on, the same weights.
    const store = new MemoryCheckpointStore();
    const controller = new AbortController();
    await run(opts, {
      checkpoint: store,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.step === 1) controller.abort();
      },
    });
    const resumed = await run(opts, { checkpoint: store, resume: true });
    expect(resumed.seen).toHaveLength(3);
    resumed.seen.forEach((b, k) => expect(Array.from(b)).toEqual(Array.from(noisy.seen[k + 1])));
    resumed.weights.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(noisy.weights[i])));
    // A checkpoint without noise belongs to another run.
    const noNoise = new MemoryCheckpointStore();
    await run({ ...opts, noiseSigma: 0, epochs: 1 }, { checkpoint: noNoise });
    await expect(run({ ...opts, epochs: 1 }, { checkpoint: noNoise, resume: true })).rejects.toThrow(
      /option noiseSigma was unset, now 0.25/,
    );
  });

  it('refuses to resume a checkpoint of another run, with every difference named', async () => {
    const store = new MemoryCheckpointStore();
    const opts: TrainOptions = { epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.1, seed: 1 };
    const base = mlp();
    await train(base, blobs, opts, { checkpoint: store });
    base.dispose();

    const other = mlp();
    const err = await errorOf(
      train(other, blobs, { ...opts, lr: 0.2, epochs: 2 }, { checkpoint: store, resume: true }),
    );
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(
      /belongs to a different run: option epochs was 1, now 2; option lr was 0.1, now 0.2/,
    );
    const wider = mlp(0, [24]);
    expect((await errorOf(train(wider, blobs, opts, { checkpoint: store, resume: true }))).message).toMatch(
      /architecture options were \{"hiddenSizes":\[16\]\}, now \{"hiddenSizes":\[24\]\}; the model's weight shapes differ/,
    );
    expect(
      (await errorOf(train(other, take(blobs, [0, 1, 2, 3]), opts, { checkpoint: store, resume: true })))
        .message,
    ).toMatch(/the data was 'blobs' \(train, 70 images.*now 'blobs' \(train, 4 images/);
    // Only checkpointEvery may change.
    await train(other, blobs, { ...opts, checkpointEvery: 5 }, { checkpoint: store, resume: true });
    const empty = await errorOf(
      train(other, blobs, opts, { checkpoint: new MemoryCheckpointStore(), resume: true }),
    );
    expect(empty).toMatchObject({ code: 'NOT_FOUND', message: 'No checkpoint to resume from at memory.' });
    other.dispose();
    wider.dispose();
  });

  it('rejects bad options and data that does not fit the model', async () => {
    const classifier = mlp();
    const opts: TrainOptions = { epochs: 1, batchSize: 8, optimizer: 'sgd', lr: 0.1, seed: 1 };
    await expect(train(classifier, blobs, { ...opts, batchSize: 0 })).rejects.toThrow(
      /'batchSize' must be a positive integer, got 0/,
    );
    await expect(train(classifier, blobs, { ...opts, schedule: 'step' })).rejects.toThrow(/needs 'stepSize'/);
    const rgb = blobDataset({ count: 4, channels: 3 });
    await expect(train(classifier, rgb, opts)).rejects.toThrow(/8x8x3 images but the model expects 8x8x1/);
    await expect(train(classifier, blobs, { ...opts, noiseSigma: -0.25 })).rejects.toThrow(
      /'noiseSigma' must be a number >= 0 \(0 = no noise\), got -0.25/,
    );
    await expect(
      train(classifier, blobs, { ...opts, noiseSigma: 0.25, adversarial: { method: 'pgd', eps: 0.1 } }),
    ).rejects.toThrow(/'noiseSigma' \(Gaussian noise augmentation\) applies only to standard training/);
    await expect(train(classifier, blobs, opts, { resume: true })).rejects.toThrow(
      /needs a checkpoint store/,
    );
    classifier.dispose();
  });

  it('an already aborted signal stops before the first step and still checkpoints', async () => {
    const classifier = mlp();
    const store = new MemoryCheckpointStore();
    const result = await train(
      classifier,
      blobs,
      { epochs: 1, batchSize: 8, optimizer: 'sgd', lr: 0.1, seed: 1 },
      { signal: AbortSignal.abort(), checkpoint: store },
    );
    expect(result).toMatchObject({ completed: false, steps: 0, epochs: 0 });
    expect(result.loss).toBeNaN();
    expect(await store.read()).not.toBeNull();
    classifier.dispose();
  });
});
