import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { caughtAdvkitError } from '../data/test-utils/scratch.js';
import type { Classifier } from '../models/classifier.js';
import { createClassifier } from '../models/create-classifier.js';
import { MemoryChunkStore } from './chunk-store.js';
import {
  relabelAdversarially,
  relabelTargets,
  type RelabelOptions,
  type RelabelProgress,
} from './non-robust-dataset.js';
import { blobDataset } from './test-utils/fixtures.js';
import { train } from './train.js';

const blobs = blobDataset({ count: 30, size: 8, classes: 4 });
let model: Classifier;

beforeAll(async () => {
  await initNodeBackend();
  // A small linear model that has learned the blobs, so that its targets take a real push to reach.
  model = createClassifier('linear', { inputShape: [8, 8, 1], numClasses: 4, seed: 1 });
  await train(model, blobs, { epochs: 4, batchSize: 10, optimizer: 'adam', lr: 0.05, seed: 0 });
});

const options: RelabelOptions = {
  rule: 'det',
  norm: 'l2',
  eps: 3,
  steps: 10,
  stepSize: 0.5,
  earlyStop: false,
  chunkSize: 8,
  batchSize: 5,
  seed: 3,
};

describe('relabelTargets', () => {
  it('det is (y + 1) mod k; rand is seeded and uniform over all k classes, the own one included', () => {
    const labels = Int32Array.from({ length: 2000 }, (_, i) => i % 10);
    expect(Array.from(relabelTargets(labels.subarray(0, 10), 10, 'det'))).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 0,
    ]);
    expect(Array.from(relabelTargets([0, 1, 1, 0], 2, 'det'))).toEqual([1, 0, 0, 1]);
    const rand = relabelTargets(labels, 10, 'rand', 7);
    expect(rand.every((t) => t >= 0 && t < 10)).toBe(true);
    expect(relabelTargets(labels, 10, 'rand', 7)).toEqual(rand);
    expect(relabelTargets(labels, 10, 'rand', 8)).not.toEqual(rand);
    // Robust features uncorrelated with the target: every class about equally often, the own class too.
    const counts = new Array<number>(10).fill(0);
    rand.forEach((t) => counts[t]++);
    expect(Math.min(...counts)).toBeGreaterThan(150);
    const own = rand.reduce((n, t, i) => n + Number(t === labels[i]), 0);
    expect(own).toBeGreaterThan(140);
    expect(own).toBeLessThan(260);
    expect(() => relabelTargets([0], 1, 'det')).toThrow(/at least 2 classes/);
  });
});

describe('relabelAdversarially', () => {
  it('labels every kept image with its target, keeps only those that reach it, and leaks no tensor', async () => {
    const before = tf.memory().numTensors;
    const out = await relabelAdversarially(model, blobs, options);
    expect(tf.memory().numTensors).toBe(before);
    const { dataset, sourceIndices, targets, predictions, success, stats } = out;
    expect(Array.from(targets)).toEqual(Array.from(blobs.labels, (y) => (y + 1) % 4));
    expect(stats.images).toBe(30);
    expect(stats.kept).toBe(dataset.count);
    expect(dataset.count).toBeGreaterThan(20);
    expect(dataset.count).toBe(sourceIndices.length);
    for (let j = 0; j < dataset.count; j++) {
      const i = sourceIndices[j];
      expect(dataset.labels[j]).toBe(targets[i]);
      expect(dataset.labels[j]).not.toBe(blobs.labels[i]);
      expect(predictions[i]).toBe(targets[i]);
    }
    expect(stats.successRate).toBeCloseTo(success.reduce((s, v) => s + v, 0) / 30, 10);
    // The stored images are bytes within the budget (plus half a byte of rounding per pixel).
    expect(stats.maxL2).toBeLessThanOrEqual(3 + (0.5 / 255) * 8);
    expect(stats.meanL2).toBeGreaterThan(0.5);
    expect(dataset.pixels).toBeInstanceOf(Uint8Array);
    expect(dataset.name).toBe('blobs-det');
    expect(stats.chunks).toBe(4);
    expect(stats.resumedChunks).toBe(0);
  });

  it('keeps the failures too when asked, still labelled with their targets', async () => {
    const weak = await relabelAdversarially(model, blobs, { ...options, eps: 0.2, keepFailures: true });
    expect(weak.dataset.count).toBe(30);
    expect(weak.stats.successRate).toBeLessThan(1);
    expect(Array.from(weak.dataset.labels)).toEqual(Array.from(weak.targets));
  });

  it('resumes from the saved chunks to the result of an uninterrupted run', async () => {
    const whole = await relabelAdversarially(model, blobs, { ...options, rule: 'rand' });
    const store = new MemoryChunkStore();
    const abort = new AbortController();
    const stopAfterTwo = (p: RelabelProgress): void => {
      if (p.done >= 16) abort.abort();
    };
    const stopped = await caughtAdvkitError(
      relabelAdversarially(
        model,
        blobs,
        { ...options, rule: 'rand' },
        { store, sourceKey: 'm1', signal: abort.signal, onProgress: stopAfterTwo },
      ),
    );
    expect(stopped.code).toBe('ABORTED');
    expect([...store.blobs.keys()]).toEqual(['rand-00000.chunk', 'rand-00001.chunk']);
    const resumed = await relabelAdversarially(
      model,
      blobs,
      { ...options, rule: 'rand' },
      { store, sourceKey: 'm1' },
    );
    expect(resumed.stats.resumedChunks).toBe(2);
    expect(store.writes).toBe(4);
    expect(resumed.dataset.pixels).toEqual(whole.dataset.pixels);
    expect(resumed.dataset.labels).toEqual(whole.dataset.labels);
    expect(resumed.sourceIndices).toEqual(whole.sourceIndices);
    expect(resumed.stats.successRate).toBe(whole.stats.successRate);

    // Chunks of another run (other options or another source model) are refused, damaged ones named.
    for (const [o, key] of [
      [{ ...options, rule: 'rand' as const, eps: 2 }, 'm1'],
      [{ ...options, rule: 'rand' as const }, 'm2'],
    ] as const) {
      const err = await caughtAdvkitError(relabelAdversarially(model, blobs, o, { store, sourceKey: key }));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toContain('belongs to another run');
    }
    const bytes = store.blobs.get('rand-00001.chunk');
    if (bytes === undefined) throw new Error('chunk 1 was not saved');
    bytes[bytes.length - 1] ^= 1;
    const err = await caughtAdvkitError(
      relabelAdversarially(model, blobs, { ...options, rule: 'rand' }, { store, sourceKey: 'm1' }),
    );
    expect(err.code).toBe('CORRUPT_DATA');
    expect(err.message).toContain('rand-00001.chunk');
  });

  it('refuses bad options, data of another shape and models not on [0, 1]', async () => {
    for (const bad of [{ eps: 0 }, { steps: 1.5 }, { chunkSize: 0 }, { norm: 'l1' as 'l2' }]) {
      const err = await caughtAdvkitError(relabelAdversarially(model, blobs, { ...options, ...bad }));
      expect(err.code).toBe('INVALID_ARGUMENT');
    }
    const wide = blobDataset({ count: 4, size: 10, classes: 4 });
    expect((await caughtAdvkitError(relabelAdversarially(model, wide, options))).message).toContain(
      '10x10x1',
    );
    const scaled = createClassifier('linear', { inputShape: [8, 8, 1], numClasses: 4, bounds: [0, 255] });
    expect((await caughtAdvkitError(relabelAdversarially(scaled, blobs, options))).message).toContain(
      '[0, 1]',
    );
    scaled.dispose();
  });
});
