import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng.js';
import { randomValues } from '../kernels/test-utils/wasm-vs-cpu.js';
import { nativeAddonForTests, startWasmWithNativeKernels, type CallCounts } from './test-utils/native-on.js';

const addon = nativeAddonForTests();
let calls: CallCounts;

beforeAll(async () => {
  if (addon === undefined) return;
  const counts = await startWasmWithNativeKernels();
  if (counts === undefined) throw new Error('native addon vanished');
  calls = counts;
});

/** conv (stride 2) + elu, depthwise + tanh, max pool, dense: every native kernel, smooth enough for differences. */
function smallModel(): tfl.Sequential {
  tf.util.assert(tf.getBackend() === 'wasm', () => 'expected wasm');
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [9, 9, 3],
        filters: 5,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'elu',
        kernelInitializer: tfl.initializers.glorotNormal({ seed: 1 }),
      }),
      tfl.layers.depthwiseConv2d({
        kernelSize: 2,
        depthMultiplier: 2,
        activation: 'tanh',
        depthwiseInitializer: tfl.initializers.glorotNormal({ seed: 2 }),
      }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 4, kernelInitializer: tfl.initializers.glorotNormal({ seed: 3 }) }),
    ],
  });
}

/** A direction of norm 1, so that a step h moves the point by h whatever its dimension. */
function unit(v: tf.Tensor): tf.Tensor {
  return tf.div(v, tf.norm(v));
}

describe.skipIf(addon === undefined)('the native engine on a small model', () => {
  it('input gradients agree with central finite differences along random directions', () => {
    const model = smallModel();
    const rng = new Rng(17);
    const x = tf.tensor4d(randomValues(rng, [2, 9, 9, 3]), [2, 9, 9, 3]);
    const r = tf.tensor2d(randomValues(rng, [2, 4]), [2, 4]);
    const f = (v: tf.Tensor) => tf.sum(tf.mul(model.apply(v) as tf.Tensor, r));
    const before = { ...calls };
    const g = tf.grad(f)(x);
    expect(calls.convBackwardData).toBeGreaterThan(before.convBackwardData);
    expect(calls.maxPoolBackward).toBeGreaterThan(before.maxPoolBackward);
    for (let trial = 0; trial < 4; trial++) {
      const v = unit(tf.tensor4d(randomValues(rng, [2, 9, 9, 3]), [2, 9, 9, 3]));
      const h = 2e-3;
      const plus = f(tf.add(x, tf.mul(v, h))).dataSync()[0];
      const minus = f(tf.sub(x, tf.mul(v, h))).dataSync()[0];
      const numeric = (plus - minus) / (2 * h);
      const analytic = tf.sum(tf.mul(g, v)).dataSync()[0];
      expect(Math.abs(numeric - analytic)).toBeLessThan(2e-2 * Math.max(1, Math.abs(analytic)));
    }
    model.dispose();
  });

  it('weight gradients agree with central finite differences', () => {
    const model = smallModel();
    const rng = new Rng(23);
    const x = tf.tensor4d(randomValues(rng, [3, 9, 9, 3]), [3, 9, 9, 3]);
    const r = tf.tensor2d(randomValues(rng, [3, 4]), [3, 4]);
    const loss = () => tf.sum(tf.mul(model.apply(x) as tf.Tensor, r)) as tf.Scalar;
    const { grads } = tf.variableGrads(loss);
    for (const weight of model.trainableWeights.slice(0, 3)) {
      const variable = weight.read() as tf.Variable;
      const original = variable.clone();
      const direction = unit(tf.tensor(randomValues(rng, variable.shape), variable.shape));
      const h = 2e-3;
      variable.assign(tf.add(original, tf.mul(direction, h)));
      const plus = loss().dataSync()[0];
      variable.assign(tf.sub(original, tf.mul(direction, h)));
      const minus = loss().dataSync()[0];
      variable.assign(original);
      const numeric = (plus - minus) / (2 * h);
      const analytic = tf.sum(tf.mul(grads[variable.name], direction)).dataSync()[0];
      expect(Math.abs(numeric - analytic), weight.name).toBeLessThan(2e-2 * Math.max(1, Math.abs(analytic)));
    }
    model.dispose();
  });

  it('leaks neither tensors nor native memory over 1,000 gradient steps', () => {
    const model = smallModel();
    const rng = new Rng(29);
    const x = tf.tensor4d(randomValues(rng, [4, 9, 9, 3]), [4, 9, 9, 3]);
    const step = () =>
      tf.tidy(() => {
        const g = tf.grad((v: tf.Tensor) => tf.sum(model.apply(v) as tf.Tensor))(x);
        return tf.sum(g).dataSync()[0];
      });
    // warm up until the wasm heap and V8's heap have their working size
    for (let i = 0; i < 300; i++) step();
    const tensors = tf.memory().numTensors;
    // Native memory: the process's resident size less V8's own heap, whose growth between collections is not
    // the addon's (it made this check fail now and then when the suite ran in parallel).
    const nativeMb = (): number => {
      const m = process.memoryUsage();
      return (m.rss - m.heapTotal) / 2 ** 20;
    };
    const before = nativeMb();
    for (let i = 0; i < 1000; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    // Per call the addon allocates only oneDNN memory objects around the caller's buffers (reordered filters
    // are cached per shape), 5 native calls a step: a leak of even 1 KiB a call would grow by 5 MB here.
    const grownMb = nativeMb() - before;
    expect(grownMb).toBeLessThan(5);
    expect(addon?.info().cachedPrimitives).toBeLessThanOrEqual(256);
    x.dispose();
    model.dispose();
  });
});
