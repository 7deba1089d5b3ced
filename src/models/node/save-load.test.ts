import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdvkitError } from '../../errors.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import { ADVKIT_VERSION } from '../../version.js';
import type { Classifier } from '../classifier.js';
import { createClassifier } from '../create-classifier.js';
import { loadClassifier } from './load-classifier.js';
import { packageRoot } from '../../util/node/package-root.js';
import { bundledModelDir } from './package-root.js';
import { saveClassifier } from './save-classifier.js';

let root: string;

function logitsOf(c: Classifier, seed = 7): Float32Array {
  return tf.tidy(() => {
    const x = tf.randomUniform([3, ...c.inputShape], 0, 1, 'float32', seed) as tf.Tensor4D;
    return c.logits(x).dataSync() as Float32Array;
  });
}

async function expectError(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AdvkitError);
  expect((err as AdvkitError).code).toBe(code);
  expect((err as AdvkitError).message).toMatch(message);
}

function tiny(seed: number): Classifier {
  return createClassifier('cifar-cnn', {
    inputShape: [8, 8, 3],
    classNames: ['airplane', 'cat'],
    preprocessing: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.2] },
    batchNorm: true,
    seed,
    dataset: 'cifar10',
  });
}

describe('saveClassifier / loadClassifier', () => {
  beforeAll(async () => {
    await initNodeBackend();
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'advkit-models-'));
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('round-trips weights (batch-norm statistics included) and metadata', async () => {
    const c = tiny(1);
    // Move the batch-norm moving statistics away from their initial values.
    tf.tidy(() => c.logits(tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 2) as tf.Tensor4D, { training: true }));
    const movingMean = (k: Classifier): number[] => {
      if (!(k.net instanceof tfl.LayersModel)) throw new Error('expected a layers model');
      return Array.from(k.net.getLayer('conv1_bn').getWeights()[2].dataSync());
    };
    expect(movingMean(c).some((v) => v !== 0)).toBe(true);
    const dir = path.join(root, 'roundtrip');
    await saveClassifier(c, dir, { metrics: { accuracy: 0.5 }, training: { epochs: 1, optimizer: 'sgd' } });
    expect((await fs.readdir(dir)).sort()).toEqual(['advkit.json', 'model.json', 'weights.bin']);
    const before = tf.memory().numTensors;
    const loaded = await loadClassifier(dir);
    expect(logitsOf(loaded)).toEqual(logitsOf(c));
    expect(movingMean(loaded)).toEqual(movingMean(c));
    expect(loaded.metadata).toEqual({ ...c.metadata });
    expect(loaded.metadata).toMatchObject({
      architecture: 'cifar-cnn',
      architectureOptions: { batchNorm: true },
      dataset: 'cifar10',
      classNames: ['airplane', 'cat'],
      preprocessing: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.2] },
      seed: 1,
      metrics: { accuracy: 0.5 },
      training: { epochs: 1, optimizer: 'sgd' },
      advkitVersion: ADVKIT_VERSION,
    });
    expect(typeof loaded.metadata.createdAt).toBe('string');
    expect(loaded.trainableVariables()).toHaveLength(c.trainableVariables().length);
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
    c.dispose();
  });

  it('replaces an existing model, and a failed save leaves the previous model intact', async () => {
    const dir = path.join(root, 'replace');
    const first = tiny(1);
    const second = tiny(2);
    await saveClassifier(first, dir);
    await saveClassifier(second, dir);
    const loaded = await loadClassifier(dir);
    expect(logitsOf(loaded)).toEqual(logitsOf(second));
    loaded.dispose();

    // JSON cannot encode a BigInt: the save fails after weights.bin and model.json were written.
    await expectError(saveClassifier(first, dir, { training: { bad: 1n } }), 'INTERNAL', /replace.*failed:.*BigInt/);
    const intact = await loadClassifier(dir);
    expect(logitsOf(intact)).toEqual(logitsOf(second));
    intact.dispose();
    expect((await fs.readdir(root)).filter((n) => n.startsWith('.'))).toEqual([]);
    first.dispose();
    second.dispose();
  });

  it('refuses to overwrite a directory that holds something other than a model', async () => {
    const dir = path.join(root, 'not-a-model');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'notes.txt'), 'keep me');
    const c = tiny(1);
    await expectError(saveClassifier(c, dir), 'INVALID_ARGUMENT', /not empty and holds no model/);
    expect(await fs.readFile(path.join(dir, 'notes.txt'), 'utf8')).toBe('keep me');
    c.dispose();
  });

  it('says which file is missing or broken', async () => {
    const dir = path.join(root, 'broken');
    const c = tiny(1);
    await saveClassifier(c, dir);
    c.dispose();
    const copy = async (name: string): Promise<string> => {
      const target = path.join(root, name);
      await fs.cp(dir, target, { recursive: true });
      return target;
    };

    await expectError(loadClassifier(path.join(root, 'nowhere')), 'NOT_FOUND', /nowhere does not exist/);
    const empty = path.join(root, 'empty');
    await fs.mkdir(empty);
    await expectError(loadClassifier(empty), 'NOT_FOUND', /No model.json in .*empty/);

    const badJson = await copy('bad-json');
    await fs.writeFile(path.join(badJson, 'model.json'), '{"modelTopology": ');
    await expectError(loadClassifier(badJson), 'CORRUPT_DATA', /bad-json\/model.json is not valid JSON/);

    const noShard = await copy('no-shard');
    await fs.rm(path.join(noShard, 'weights.bin'));
    await expectError(loadClassifier(noShard), 'NOT_FOUND', /no-shard\/weights.bin listed in .*model.json is missing/);

    const short = await copy('short-shard');
    await fs.truncate(path.join(short, 'weights.bin'), 100);
    await expectError(loadClassifier(short), 'CORRUPT_DATA', /weights.bin of .*model.json hold 100 bytes; the manifest needs/);

    const badMeta = await copy('bad-meta');
    await fs.writeFile(path.join(badMeta, 'advkit.json'), '{"format": "advkit-model", "architecture": 3}');
    await expectError(loadClassifier(badMeta), 'CORRUPT_DATA', /advkit.json: "architecture" must be a string/);

    const labels = path.join(root, 'three.txt');
    await fs.writeFile(labels, 'a\nb\nc\n');
    await expectError(loadClassifier(dir, { labels }), 'INVALID_ARGUMENT', /three.txt lists 3 classes but the model .* has 2 outputs/);
  });

  it('without advkit.json: infers the input shape, defaults to [0,1], finds labels.txt and names WordNet ids', async () => {
    const dir = path.join(root, 'external');
    const c = tiny(3);
    await saveClassifier(c, dir);
    await fs.rm(path.join(dir, 'advkit.json'));
    await fs.writeFile(path.join(dir, 'labels.txt'), 'n02123045\nn01440764\n');
    await fs.writeFile(
      path.join(dir, 'imagenet_class_index.json'),
      JSON.stringify({ '0': ['n01440764', 'tench'], '1': ['n02123045', 'tabby'] }),
    );
    const loaded = await loadClassifier(dir);
    expect(loaded.inputShape).toEqual([8, 8, 3]);
    expect(loaded.bounds).toEqual([0, 1]);
    expect(loaded.preprocessing).toEqual({});
    expect(loaded.classNames).toEqual(['tabby', 'tench']);
    expect(loaded.metadata.architecture).toBe('external');
    loaded.dispose();

    const withOverrides = await loadClassifier(path.join(dir, 'model.json'), {
      preprocessing: c.preprocessing,
      labels: path.join(dir, 'labels.txt'),
      wnidNames: path.join(dir, 'imagenet_class_index.json'),
    });
    expect(logitsOf(withOverrides)).toEqual(logitsOf(c));
    withOverrides.dispose();
    c.dispose();
  });

  it('bundledModelDir points into <package root>/models', () => {
    expect(bundledModelDir('mnist-cnn')).toBe(path.join(packageRoot(), 'models', 'mnist-cnn'));
    expect(path.basename(packageRoot())).not.toBe('src');
  });
});
