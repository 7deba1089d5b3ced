import * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { AdvkitError } from '../errors.js';
import { createClassifier } from './create-classifier.js';
import { checkFiniteWeights } from './finite-weights.js';
import { loadClassifier } from './node/load-classifier.js';
import { saveClassifier } from './node/save-classifier.js';

let root: string;

async function caught(promise: Promise<unknown>): Promise<AdvkitError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AdvkitError);
  return err as AdvkitError;
}

/** A saved two-layer MLP on 4x4x1 inputs; returns its directory and its weight manifest. */
async function savedMlp(name: string): Promise<{ dir: string; specs: tf.io.WeightsManifestEntry[] }> {
  const dir = path.join(root, name);
  const c = createClassifier('mlp', { inputShape: [4, 4, 1], numClasses: 3, hiddenSizes: [5], seed: 1 });
  await saveClassifier(c, dir);
  c.dispose();
  const modelJson = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  return { dir, specs: modelJson.weightsManifest.flatMap((g) => g.weights) };
}

/** Overwrites float `index` of weight tensor `name` in the saved weights.bin. */
async function poison(dir: string, specs: tf.io.WeightsManifestEntry[], name: string, value: number): Promise<void> {
  let offset = 0;
  for (const spec of specs) {
    if (spec.name === name) break;
    offset += spec.shape.reduce((a, d) => a * d, 1) * 4;
  }
  const file = path.join(dir, 'weights.bin');
  const bytes = await fs.readFile(file);
  bytes.writeFloatLE(value, offset + 4);
  await fs.writeFile(file, bytes);
}

describe('loading a model checks its weights and its input shape', () => {
  beforeAll(async () => {
    await initNodeBackend();
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'advkit-finite-'));
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it.each([
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
  ])('refuses weights holding %s and names the tensor (CORRUPT_DATA)', async (value, word) => {
    const { dir, specs } = await savedMlp(`bad-${word}`);
    const target = specs[2].name; // the second layer's kernel: not the first tensor, so the offset matters
    await poison(dir, specs, target, value);
    const before = tf.memory().numTensors;
    const err = await caught(loadClassifier(dir));
    expect(err.code).toBe('CORRUPT_DATA');
    expect(err.message).toContain(`contain ${word} in '${target}'`);
    expect(err.message).toContain(path.join(dir, 'model.json'));
    expect(err.message).toMatch(/corrupt or its training diverged/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('loads a model with finite weights', async () => {
    const { dir } = await savedMlp('good');
    const c = await loadClassifier(dir);
    expect(c.inputShape).toEqual([4, 4, 1]);
    c.dispose();
  });

  it("refuses an advkit.json whose inputShape contradicts the network's, naming both and the file", async () => {
    const { dir } = await savedMlp('shape');
    const metadataFile = path.join(dir, 'advkit.json');
    const metadata = JSON.parse(await fs.readFile(metadataFile, 'utf8')) as Record<string, unknown>;
    await fs.writeFile(metadataFile, JSON.stringify({ ...metadata, inputShape: [8, 8, 3] }));
    const before = tf.memory().numTensors;
    const err = await caught(loadClassifier(dir));
    expect(err.code).toBe('CORRUPT_DATA');
    expect(err.message).toContain(metadataFile);
    expect(err.message).toContain('[8, 8, 3]');
    expect(err.message).toContain('[4, 4, 1]');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses an inputShape override the network cannot take (INVALID_ARGUMENT)', async () => {
    const { dir } = await savedMlp('override');
    const err = await caught(loadClassifier(dir, { inputShape: [4, 4, 3] }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/inputShape \[4, 4, 3\] does not fit .* whose input is \[4, 4, 1\]/);
  });
});

describe('checkFiniteWeights', () => {
  const half = (bits: number[]): ArrayBuffer => new Uint16Array(bits).buffer;

  it('reads float16-quantized weights: 0x7c00 is Infinity, 0x7e00 NaN, 0x3c00 is 1', () => {
    const artifacts = (bits: number[]): tf.io.ModelArtifacts => ({
      weightSpecs: [{ name: 'w', shape: [2], dtype: 'float32', quantization: { dtype: 'float16' } }],
      weightData: half(bits),
    });
    expect(() => checkFiniteWeights(artifacts([0x3c00, 0x3c00]), 'm')).not.toThrow();
    expect(() => checkFiniteWeights(artifacts([0x3c00, 0x7c00]), 'm')).toThrow(/contain Infinity in 'w'/);
    expect(() => checkFiniteWeights(artifacts([0x7e00, 0x3c00]), 'm')).toThrow(/contain NaN in 'w'/);
  });

  it('skips integer and string tensors by their size, across shards', () => {
    const ints = new Int32Array([1, 2]).buffer;
    const str = new Uint8Array([2, 0, 0, 0, 104, 105]).buffer; // one string element, 'hi'
    const floats = new Float32Array([0.5, Number.NaN]).buffer;
    const artifacts: tf.io.ModelArtifacts = {
      weightSpecs: [
        { name: 'ids', shape: [2], dtype: 'int32' },
        { name: 'vocab', shape: [1], dtype: 'string' },
        { name: 'w', shape: [2], dtype: 'float32' },
      ],
      weightData: [ints, str, floats],
    };
    expect(() => checkFiniteWeights(artifacts, 'm')).toThrow(/contain NaN in 'w'/);
  });

  it('refuses uint8 quantization with a non-finite scale', () => {
    const artifacts: tf.io.ModelArtifacts = {
      weightSpecs: [{ name: 'q', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8', scale: Number.POSITIVE_INFINITY, min: 0 } }],
      weightData: new Uint8Array([1, 2]).buffer,
    };
    expect(() => checkFiniteWeights(artifacts, 'm')).toThrow(/contain Infinity in 'q'/);
  });
});
