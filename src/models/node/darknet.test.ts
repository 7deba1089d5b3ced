import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readImageFile } from '../../data/node/image-file.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import type { Classifier } from '../classifier.js';
import { parseClassIndex } from '../labels.js';
import { dataDir, sharedModelsDir } from '../test-utils/paths.js';
import { loadClassifier } from './load-classifier.js';

const modelDir = path.join(sharedModelsDir, 'darknet-tiny-imagenet');
const samplesDir = path.join(dataDir, 'imagenet-samples');
const available = existsSync(path.join(modelDir, 'model.json')) && existsSync(samplesDir);

async function topClasses(classifier: Classifier, files: string[]): Promise<number[]> {
  const [h, w, c] = classifier.inputShape;
  const batch = new Uint8Array(files.length * h * w * c);
  for (let i = 0; i < files.length; i++) {
    const image = await readImageFile(files[i], { size: [h, w], channels: 3 });
    batch.set(image.pixels, i * h * w * c);
  }
  const top = tf.tidy(() => {
    const x = tf.div(tf.tensor4d(batch, [files.length, h, w, c], 'float32'), 255) as tf.Tensor4D;
    return tf.argMax(classifier.logits(x), 1);
  });
  const out = Array.from(await top.data());
  top.dispose();
  return out;
}

describe.skipIf(!available)('darknet-tiny-imagenet (real pretrained model)', () => {
  let classifier: Classifier;

  beforeAll(async () => {
    await initNodeBackend();
    // ADVKIT_DATA lets the WordNet ids of the Darknet labels file be named from imagenet_class_index.json.
    process.env.ADVKIT_DATA = dataDir;
    classifier = await loadClassifier(modelDir);
  });

  it('loads with no flags: 224x224x3 in [0,1], 1000 named classes in Darknet order, no softmax to strip', () => {
    expect(classifier.inputShape).toEqual([224, 224, 3]);
    expect(classifier.bounds).toEqual([0, 1]);
    expect(classifier.preprocessing).toEqual({});
    expect(classifier.numClasses).toBe(1000);
    expect(classifier.classNames[0]).toBe('kit_fox'); // Darknet index 0 = n02119789
    expect(classifier.metadata.notes).toBeUndefined();
  });

  it('names the tfjs cat and dog and the captum swan', async () => {
    const files = ['tfjs/cat.jpg', 'tfjs/dog.jpg', 'captum/swan-3299528_1280.jpg'].map((f) => path.join(samplesDir, f));
    const top = await topClasses(classifier, files);
    expect(top.map((i) => classifier.classNames[i])).toEqual(['tabby', 'Labrador_retriever', 'black_swan']);
  });

  it('gets >= 14 of the 20 foolbox ImageNet samples right (labels are Keras indices, compared via WordNet id)', async () => {
    const kerasIndex = parseClassIndex(
      JSON.parse(readFileSync(path.join(samplesDir, 'imagenet_class_index.json'), 'utf8')),
      'imagenet_class_index.json',
    );
    const darknetWnids = readFileSync(path.join(modelDir, 'imagenet.labels.darknet-order.txt'), 'utf8')
      .trim()
      .split('\n');
    const names = readdirSync(path.join(samplesDir, 'foolbox')).filter((f) => /^imagenet_\d+_\d+\.jpg$/.test(f));
    expect(names).toHaveLength(20);
    const top = await topClasses(
      classifier,
      names.map((f) => path.join(samplesDir, 'foolbox', f)),
    );
    const correct = names.filter((f, i) => {
      const kerasLabel = Number(/_(\d+)\.jpg$/.exec(f)?.[1]);
      return darknetWnids[top[i]] === kerasIndex[kerasLabel][0];
    }).length;
    expect(correct).toBeGreaterThanOrEqual(14);
  });
});
