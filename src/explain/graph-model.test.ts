import * as tf from '@tensorflow/tfjs-core';
import { GraphModel } from '@tensorflow/tfjs-converter';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import type { Classifier } from '../models/classifier.js';
import { loadClassifier } from '../models/node/load-classifier.js';
import { explain } from './explain.js';
import { METHODS } from './registry.js';

/**
 * A hand-written tfjs graph model of a small CNN, as tensorflowjs_converter writes a TF SavedModel:
 * x [n, 4, 4, 1] -> Conv2D 3x3 SAME (2 filters) -> BiasAdd -> Relu -> Mean over H, W -> MatMul [2, 3] -> BiasAdd.
 */
const K = Float32Array.from({ length: 18 }, (_, i) => Math.cos(i + 0.5));
const KB = Float32Array.from([0.05, -0.02]);
const W = Float32Array.from([1, -0.5, 0.25, -1, 0.75, 0.5]);
const B = Float32Array.from([0.1, 0, -0.1]);
const float = { type: 'DT_FLOAT' };
const ints = (values: number[]) => ({ list: { i: values.map(String) } });
const text = (s: string) => ({ s: Buffer.from(s).toString('base64') });
const graphModelJson = {
  format: 'graph-model',
  generatedBy: 'hand-written test fixture',
  convertedBy: null,
  modelTopology: {
    node: [
      {
        name: 'x',
        op: 'Placeholder',
        attr: {
          dtype: float,
          shape: { shape: { dim: [{ size: '-1' }, { size: '4' }, { size: '4' }, { size: '1' }] } },
        },
      },
      { name: 'kernel', op: 'Const', attr: { dtype: float, value: { tensor: { dtype: 'DT_FLOAT' } } } },
      { name: 'kernel_bias', op: 'Const', attr: { dtype: float, value: { tensor: { dtype: 'DT_FLOAT' } } } },
      {
        name: 'axes',
        op: 'Const',
        attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32' } } },
      },
      { name: 'w', op: 'Const', attr: { dtype: float, value: { tensor: { dtype: 'DT_FLOAT' } } } },
      { name: 'b', op: 'Const', attr: { dtype: float, value: { tensor: { dtype: 'DT_FLOAT' } } } },
      {
        name: 'conv',
        op: 'Conv2D',
        input: ['x', 'kernel'],
        attr: {
          T: float,
          strides: ints([1, 1, 1, 1]),
          dilations: ints([1, 1, 1, 1]),
          padding: text('SAME'),
          data_format: text('NHWC'),
        },
      },
      { name: 'conv_bias', op: 'BiasAdd', input: ['conv', 'kernel_bias'], attr: { T: float } },
      { name: 'relu', op: 'Relu', input: ['conv_bias'], attr: { T: float } },
      { name: 'pool', op: 'Mean', input: ['relu', 'axes'], attr: { T: float, keep_dims: { b: false } } },
      {
        name: 'matmul',
        op: 'MatMul',
        input: ['pool', 'w'],
        attr: { T: float, transpose_a: { b: false }, transpose_b: { b: false } },
      },
      { name: 'logits', op: 'BiasAdd', input: ['matmul', 'b'], attr: { T: float } },
    ],
    versions: { producer: 1 },
  },
  weightsManifest: [
    {
      paths: ['group1-shard1of1.bin'],
      weights: [
        { name: 'kernel', shape: [3, 3, 1, 2], dtype: 'float32' },
        { name: 'kernel_bias', shape: [2], dtype: 'float32' },
        { name: 'axes', shape: [2], dtype: 'int32' },
        { name: 'w', shape: [2, 3], dtype: 'float32' },
        { name: 'b', shape: [3], dtype: 'float32' },
      ],
    },
  ],
};

let root: string;
let model: Classifier;

/** The same network in tfjs ops, to check the graph against. */
function reference(x: tf.Tensor4D, tap?: (a: tf.Tensor4D) => tf.Tensor4D): tf.Tensor2D {
  const conv = tf.relu(
    tf.add(tf.conv2d(x, tf.tensor4d(K, [3, 3, 1, 2]), 1, 'same'), tf.tensor1d(KB)),
  ) as tf.Tensor4D;
  const a = tap === undefined ? conv : tap(conv);
  return tf.add(tf.matMul(tf.mean(a, [1, 2]), tf.tensor2d(W, [2, 3])), tf.tensor1d(B));
}

beforeAll(async () => {
  await initNodeBackend();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'advkit-graph-cnn-'));
  await fs.writeFile(path.join(root, 'model.json'), JSON.stringify(graphModelJson));
  const shard = Buffer.concat([K, KB, Int32Array.from([1, 2]), W, B].map((a) => Buffer.from(a.buffer)));
  await fs.writeFile(path.join(root, 'group1-shard1of1.bin'), shard);
  model = await loadClassifier(root);
});
afterAll(async () => {
  model.dispose();
  await fs.rm(root, { recursive: true, force: true });
});

describe('explanations of a graph model (a converted SavedModel)', () => {
  it('names its 4-D activations by graph node, picks the one before the pooling, and taps it', () => {
    expect(model.net).toBeInstanceOf(GraphModel);
    const activations = model.activations;
    if (activations === undefined) throw new Error('no activations');
    expect(activations.layers().map((l) => l.name)).toEqual(['conv', 'conv_bias', 'relu']);
    expect(activations.defaultLayer()).toMatchObject({ name: 'relu', shape: [4, 4, 2] });
    expect(() => activations.layer('dense')).toThrow(
      /Unknown layer 'dense'. Layers with a 4-D activation: conv \[4x4x2\], conv_bias \[4x4x2\], relu \[4x4x2\]/,
    );
    tf.tidy(() => {
      const x = tf.randomUniform([2, 4, 4, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
      const double = (a: tf.Tensor4D): tf.Tensor4D => tf.mul(a, 2);
      const got = activations.logits(x, 'relu', double).dataSync();
      reference(x, double)
        .dataSync()
        .forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
    });
  });

  it.each(METHODS.map((m) => m.name))('%s runs on it', async (name) => {
    const before = tf.memory().numTensors;
    const x = tf.randomUniform([2, 4, 4, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
    const params = name.startsWith('smoothgrad') ? { samples: 3 } : name === 'occlusion' ? { window: 2 } : {};
    const a = await explain(model, name, { x, params, target: 0 });
    expect(a.maps.shape.slice(0, 3)).toEqual([2, 4, 4]);
    if (name === 'saliency') {
      // d logit_0 / dx from the tfjs reference network.
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.slice(reference(v as tf.Tensor4D), [0, 0], [-1, 1])))(x);
      const expected = g.dataSync();
      Array.from(a.maps.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
      g.dispose();
    }
    if (name === 'gradcam') expect(a.details[0].layer).toBe('relu');
    tf.dispose([x, a.maps]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
