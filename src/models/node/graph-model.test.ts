import * as tf from '@tensorflow/tfjs-core';
import { GraphModel } from '@tensorflow/tfjs-converter';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../backend/node-backend.js';
import { loadClassifier } from './load-classifier.js';
import { saveClassifier } from './save-classifier.js';

/**
 * A hand-written tfjs graph model (what tensorflowjs_converter emits for a TF SavedModel), computing
 * softmax(reshape(x, [-1, 12]) @ W + b) for x of shape [n, 2, 2, 3] and 3 classes.
 */
const W = Float32Array.from({ length: 36 }, (_, i) => Math.sin(i + 1));
const B = Float32Array.from([0.1, -0.2, 0.3]);
const float = { type: 'DT_FLOAT' };
const graphModelJson = {
  format: 'graph-model',
  generatedBy: 'hand-written test fixture',
  convertedBy: null,
  modelTopology: {
    node: [
      {
        name: 'x',
        op: 'Placeholder',
        attr: { dtype: float, shape: { shape: { dim: [{ size: '-1' }, { size: '2' }, { size: '2' }, { size: '3' }] } } },
      },
      { name: 'flat_shape', op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32' } } } },
      { name: 'w', op: 'Const', attr: { dtype: float, value: { tensor: { dtype: 'DT_FLOAT' } } } },
      { name: 'b', op: 'Const', attr: { dtype: float, value: { tensor: { dtype: 'DT_FLOAT' } } } },
      { name: 'flat', op: 'Reshape', input: ['x', 'flat_shape'], attr: { T: float } },
      { name: 'matmul', op: 'MatMul', input: ['flat', 'w'], attr: { T: float, transpose_a: { b: false }, transpose_b: { b: false } } },
      { name: 'logits', op: 'BiasAdd', input: ['matmul', 'b'], attr: { T: float } },
      { name: 'probs', op: 'Softmax', input: ['logits'], attr: { T: float } },
    ],
    versions: { producer: 1 },
  },
  weightsManifest: [
    {
      paths: ['group1-shard1of1.bin'],
      weights: [
        { name: 'flat_shape', shape: [2], dtype: 'int32' },
        { name: 'w', shape: [12, 3], dtype: 'float32' },
        { name: 'b', shape: [3], dtype: 'float32' },
      ],
    },
  ],
};

let root: string;

describe('GraphModel loading', () => {
  beforeAll(async () => {
    await initNodeBackend();
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'advkit-graph-'));
    await fs.writeFile(path.join(root, 'model.json'), JSON.stringify(graphModelJson));
    const shard = Buffer.concat([
      Buffer.from(Int32Array.from([-1, 12]).buffer),
      Buffer.from(W.buffer),
      Buffer.from(B.buffer),
    ]);
    await fs.writeFile(path.join(root, 'group1-shard1of1.bin'), shard);
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('loads a graph model from disk, reads logits before its final Softmax node and says so', async () => {
    const start = tf.memory().numTensors;
    const c = await loadClassifier(root);
    expect(c.net).toBeInstanceOf(GraphModel);
    expect(c.inputShape).toEqual([2, 2, 3]);
    expect(c.classNames).toEqual(['0', '1', '2']);
    expect(c.metadata.notes).toEqual(["Removed the final Softmax node 'probs': logits are read from 'logits'."]);
    expect(c.trainableVariables()).toEqual([]);

    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.randomUniform([4, 2, 2, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      const expected = tf.add(tf.matMul(tf.reshape(x, [4, 12]), tf.tensor2d(W, [12, 3])), tf.tensor1d(B));
      const logits = c.logits(x);
      expect(logits.shape).toEqual([4, 3]);
      const got = logits.dataSync();
      expected.dataSync().forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
    });
    expect(tf.memory().numTensors).toBe(before);

    // Attacks differentiate through graph models too: d(sum of logits)/dx = row sums of W.
    tf.tidy(() => {
      const x = tf.randomUniform([1, 2, 2, 3], 0, 1, 'float32', 7);
      const g = tf.grad((input: tf.Tensor) => tf.sum(c.logits(tf.reshape(input, [1, 2, 2, 3]))))(x).dataSync();
      for (let i = 0; i < 12; i++) expect(g[i]).toBeCloseTo(W[3 * i] + W[3 * i + 1] + W[3 * i + 2], 5);
    });
    expect(tf.memory().numTensors).toBe(before);

    // A graph classifier saves and loads again, keeping its note.
    const copy = path.join(root, 'copy');
    await saveClassifier(c, copy);
    const reloaded = await loadClassifier(copy);
    expect(reloaded.net).toBeInstanceOf(GraphModel);
    expect(reloaded.metadata.notes).toEqual(c.metadata.notes);
    tf.tidy(() => {
      const x = tf.randomUniform([2, 2, 2, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
      expect(Array.from(reloaded.logits(x).dataSync())).toEqual(Array.from(c.logits(x).dataSync()));
    });
    reloaded.dispose();
    c.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });
});
