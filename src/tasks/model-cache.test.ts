import * as tf from '@tensorflow/tfjs-core';
import { cpSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { resolveModelDir } from '../models/node/package-root.js';
import { keepModelsOpen, loadCachedClassifier } from './model-cache.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-model-cache-'));
const dir = path.join(tmp, 'mnist-cnn');
beforeAll(async () => {
  await initNodeBackend();
  cpSync(resolveModelDir('mnist-cnn', '--model'), dir, { recursive: true });
});
afterAll(() => {
  keepModelsOpen(0);
  rmSync(tmp, { recursive: true, force: true });
});

describe('the model cache of a compute thread', () => {
  it('loads a model once, ignores the tasks dispose, reloads a changed model, and frees all when turned off', async () => {
    const before = tf.memory().numTensors;
    keepModelsOpen(2);
    const a = await loadCachedClassifier(dir);
    const held = tf.memory().numTensors;
    expect(held).toBeGreaterThan(before);
    a.dispose();
    const b = await loadCachedClassifier(dir);
    // Same weights, still usable after the first borrower "disposed" it, and nothing loaded twice.
    expect(tf.memory().numTensors).toBe(held);
    const x = tf.zeros<tf.Rank.R4>([1, 28, 28, 1]);
    const logits = b.logits(x);
    expect(logits.shape).toEqual([1, 10]);
    tf.dispose([x, logits]);
    // A model replaced on disk is loaded again (and the old copy freed).
    const later = new Date(Date.now() + 5000);
    utimesSync(path.join(dir, 'model.json'), later, later);
    await loadCachedClassifier(dir);
    expect(tf.memory().numTensors).toBe(held);
    keepModelsOpen(0);
    expect(tf.memory().numTensors).toBe(before);
    // Off: every call loads its own model, which the caller frees.
    const own = await loadCachedClassifier(dir);
    own.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
