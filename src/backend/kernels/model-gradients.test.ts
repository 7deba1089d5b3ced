import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng.js';
import { randomValues, relativeError, runOn, startWasmWithAdvkitKernels } from './test-utils/wasm-vs-cpu.js';

/** conv (linear: a fused conv whose gradient asks for Conv2DBackpropFilter) - BN - relu - pool - strided conv - dense. */
function convBnDense(): tfl.Sequential {
  const model = tfl.sequential();
  model.add(
    tfl.layers.conv2d({
      inputShape: [10, 10, 2],
      filters: 6,
      kernelSize: 3,
      padding: 'same',
      useBias: false,
    }),
  );
  model.add(tfl.layers.batchNormalization());
  model.add(tfl.layers.activation({ activation: 'relu' }));
  model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  model.add(
    tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
  );
  model.add(tfl.layers.depthwiseConv2d({ kernelSize: 2, depthMultiplier: 2, padding: 'valid' }));
  model.add(tfl.layers.flatten());
  model.add(tfl.layers.dense({ units: 5 }));
  return model;
}

const BATCH = 3;
const rng = new Rng(42);
const xv = randomValues(rng, [BATCH, 10, 10, 2]);
const labels = [0, 3, 4];
let model: tfl.Sequential;

function loss(x: tf.Tensor, training: boolean): tf.Scalar {
  const logits = model.apply(x, { training }) as tf.Tensor;
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 5), logits) as tf.Scalar;
}

beforeAll(async () => {
  await startWasmWithAdvkitKernels();
  model = convBnDense();
  // deterministic weights (moving variances must stay positive)
  const wrng = new Rng(7);
  const current = model.getWeights();
  tf.tidy(() =>
    model.setWeights(
      current.map((w, i) =>
        model.weights[i].name.includes('variance')
          ? tf.onesLike(w)
          : tf.tensor(
              randomValues(wrng, w.shape).map((v) => v * 0.3),
              w.shape,
            ),
      ),
    ),
  );
});

afterAll(() => model.dispose());

describe('gradients of a conv-BN-dense model on wasm', () => {
  it('match cpu for the input and every weight (training mode)', async () => {
    const grads = () => {
      const x = tf.tensor4d(xv, [BATCH, 10, 10, 2]);
      const dx = tf.grad((v: tf.Tensor) => loss(v, true))(x);
      const { grads: dw } = tf.variableGrads(() => loss(x, true));
      return [dx, ...model.trainableWeights.map((w) => dw[w.originalName])];
    };
    const wasm = await runOn('wasm', grads);
    const cpu = await runOn('cpu', grads);
    expect(wasm.length).toBe(cpu.length);
    wasm.forEach((g, i) =>
      expect(relativeError(g.values, cpu[i].values), `gradient ${i}`).toBeLessThan(1e-4),
    );
  });

  it('agree with finite differences of the loss along a random direction', async () => {
    await tf.setBackend('wasm');
    const direction = randomValues(new Rng(9), [BATCH, 10, 10, 2]);
    const h = 1e-3;
    const [analytic, numeric] = tf.tidy(() => {
      const x = tf.tensor4d(xv, [BATCH, 10, 10, 2]);
      const v = tf.tensor4d(direction, [BATCH, 10, 10, 2]);
      const g = tf.grad((t: tf.Tensor) => loss(t, false))(x);
      const plus = loss(tf.add(x, tf.mul(v, h)), false);
      const minus = loss(tf.sub(x, tf.mul(v, h)), false);
      return [tf.sum(tf.mul(g, v)).dataSync()[0], (plus.dataSync()[0] - minus.dataSync()[0]) / (2 * h)];
    });
    expect(Math.abs(analytic - numeric) / Math.abs(numeric)).toBeLessThan(1e-2);
  });

  it('leaves no tensors behind', async () => {
    await tf.setBackend('wasm');
    const step = () => {
      const x = tf.tensor4d(xv, [BATCH, 10, 10, 2]);
      const { value, grads } = tf.variableGrads(() => loss(x, true));
      tf.dispose([x, value, ...Object.values(grads)]);
    };
    step();
    const before = tf.memory().numTensors;
    const buffers = tf.memory().numDataBuffers;
    step();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.memory().numDataBuffers).toBe(buffers);
  });
});
