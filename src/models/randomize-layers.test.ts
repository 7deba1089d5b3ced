import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import type { Classifier } from './classifier.js';
import { createClassifier } from './create-classifier.js';
import { classifierFromArtifacts } from './from-artifacts.js';
import type { Model } from './model.js';
import { loadClassifier } from './node/load-classifier.js';
import { bundledModelDir } from './node/package-root.js';
import { RandomizableCopy } from './randomize-layers.js';

function weightsOf(model: Classifier): number[][] {
  if (!(model.net instanceof tfl.LayersModel)) throw new Error('expected a layers model');
  return model.net.getWeights().map((w) => Array.from(w.dataSync()));
}

/** A model that wraps a classifier (as a defense does): a Model, not a Classifier. */
function wrapped(inner: Classifier): Model {
  return {
    inputShape: inner.inputShape,
    bounds: inner.bounds,
    classNames: inner.classNames,
    numClasses: inner.numClasses,
    logits: (x) => inner.logits(x),
    predict: (x) => inner.predict(x),
    dispose: () => undefined,
  };
}

function logitsOf(model: Classifier, x: tf.Tensor4D): number[] {
  const z = model.logits(x);
  const out = Array.from(z.dataSync());
  z.dispose();
  return out;
}

describe('RandomizableCopy', () => {
  let model: Classifier;
  let x: tf.Tensor4D;
  beforeAll(async () => {
    await initNodeBackend();
    model = await loadClassifier(bundledModelDir('mnist-cnn'));
    x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
  });
  afterAll(() => {
    x.dispose();
    model.dispose();
  });

  it('copies the classifier and lists its layers with weights from the top down', async () => {
    const before = tf.memory().numTensors;
    const copy = await RandomizableCopy.of(model);
    expect(copy.layers.map((l) => [l.name, l.kind])).toEqual([
      ['logits', 'Dense'],
      ['fc1', 'Dense'],
      ['conv2', 'Conv2D'],
      ['conv1', 'Conv2D'],
    ]);
    expect(copy.layers[0].params).toBe(128 * 10 + 10);
    expect(copy.layers[3].params).toBe(5 * 5 * 16 + 16);
    expect(copy.model).not.toBe(model);
    expect(copy.model.classNames).toEqual(model.classNames);
    expect(logitsOf(copy.model, x)).toEqual(logitsOf(model, x));
    copy.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('re-draws a layer of the copy only, seeded, at the trained scale, and puts it back', async () => {
    const original = logitsOf(model, x);
    const trained = weightsOf(model);
    const copy = await RandomizableCopy.of(model);
    const before = tf.memory().numTensors;
    copy.randomize('logits', 3);
    const first = logitsOf(copy.model, x);
    expect(first).not.toEqual(original);
    expect(logitsOf(model, x)).toEqual(original);
    expect(weightsOf(model)).toEqual(trained);

    // The same seed draws the same weights, another seed others.
    copy.randomize('logits', 3);
    expect(logitsOf(copy.model, x)).toEqual(first);
    copy.randomize('logits', 4);
    expect(logitsOf(copy.model, x)).not.toEqual(first);

    // Each weight tensor keeps its trained mean and standard deviation, and loses its values.
    const stats = (values: Float32Array): [number, number] => {
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
      return [mean, std];
    };
    copy.randomize('conv2', 5);
    const kernel = (net: Classifier) => (net.net as tfl.LayersModel).getLayer('conv2').getWeights()[0];
    const [m0, s0] = stats(kernel(model).dataSync() as Float32Array);
    const [m1, s1] = stats(kernel(copy.model).dataSync() as Float32Array);
    expect(Math.abs(m1 - m0)).toBeLessThan(0.05 * s0);
    expect(s1 / s0).toBeGreaterThan(0.97);
    expect(s1 / s0).toBeLessThan(1.03);

    copy.restore('logits');
    copy.restore('conv2');
    expect(logitsOf(copy.model, x)).toEqual(original);
    expect(tf.memory().numTensors).toBe(before);
    copy.dispose();
    // The copy shared the restored weights' data; the original still holds them.
    expect(logitsOf(model, x)).toEqual(original);
  });

  it('keeps batch-norm running statistics and re-draws its scale and shift', async () => {
    const net = createClassifier('cifar-cnn', { inputShape: [8, 8, 3], numClasses: 3, batchNorm: true, seed: 1 });
    const copy = await RandomizableCopy.of(net);
    const bn = copy.layers.find((l) => l.name === 'conv1_bn');
    expect(bn).toEqual({ name: 'conv1_bn', kind: 'BatchNormalization', params: 64 });
    const layer = (copy.model.net as tfl.LayersModel).getLayer('conv1_bn');
    const statistics = layer.weights.filter((w) => /moving/.test(w.originalName)).map((w) => w.read());
    copy.randomize('conv1_bn', 1);
    const after = layer.weights.filter((w) => /moving/.test(w.originalName)).map((w) => w.read());
    expect(after.map((t) => Array.from(t.dataSync()))).toEqual(statistics.map((t) => Array.from(t.dataSync())));
    copy.dispose();
    net.dispose();
  });

  it('rejects unknown layers, listing the ones it has', async () => {
    const copy = await RandomizableCopy.of(model);
    expect(() => copy.randomize('pool1', 0)).toThrow(
      "Unknown layer 'pool1'. Layers with weights, top down: logits, fc1, conv2, conv1.",
    );
    expect(() => copy.restore('nope')).toThrow(/Unknown layer 'nope'/);
    copy.dispose();
  });

  it('refuses models whose weights are out of reach, saying why', async () => {
    await expect(RandomizableCopy.of(wrapped(model), 'The test')).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringMatching(/^The test re-draws the model's weights .* not a classifier backed by a tfjs network/),
    });
    // A graph model computing -x on [n, 1, 1, 2] inputs: two "logits", no layers.
    const graph = await classifierFromArtifacts({
      artifacts: {
        format: 'graph-model',
        modelTopology: {
          node: [
            {
              name: 'x',
              op: 'Placeholder',
              attr: {
                dtype: { type: 'DT_FLOAT' },
                shape: { shape: { dim: [{ size: '-1' }, { size: '1' }, { size: '1' }, { size: '2' }] } },
              },
            },
            { name: 'logits', op: 'Neg', input: ['x'], attr: { T: { type: 'DT_FLOAT' } } },
          ],
          versions: { producer: 1 },
        },
        weightSpecs: [],
        weightData: new ArrayBuffer(0),
      },
      source: 'a test graph',
    });
    await expect(RandomizableCopy.of(graph)).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringMatching(/graph model .* constants folded into the graph/),
    });
    graph.dispose();
  });
});
