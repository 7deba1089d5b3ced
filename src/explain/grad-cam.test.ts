import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { explain } from './explain.js';
import {
  linearModel,
  oneChannelCamModel,
  pooledCamModel,
  sineWeights,
  smoothCnn,
  uniformInputs,
} from './test-utils/models.js';

beforeAll(async () => {
  await initNodeBackend();
});

describe('Grad-CAM', () => {
  it('recovers the pattern of a last convolution with one channel', async () => {
    const model = oneChannelCamModel(6);
    const pattern = Float32Array.from({ length: 36 }, (_, i) =>
      ((i % 6) + Math.floor(i / 6)) % 3 === 0 ? 0.9 : 0.1 * (i % 4),
    );
    const x = tf.tensor4d(pattern, [1, 6, 6, 1]);
    const a = await explain(model, 'gradcam', { x, target: 0 });
    expect(a.maps.shape).toEqual([1, 6, 6]);
    expect(a.details[0]).toMatchObject({ layer: 'copy', zeroMap: false });
    const peak = Math.max(...pattern);
    Array.from(a.maps.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(pattern[i] / peak, 5));
    // Class 1's channel weight is negative: after the ReLU nothing is left, and that is reported.
    const other = await explain(model, 'gradcam', { x, target: 1 });
    expect(Array.from(other.maps.dataSync()).every((v) => v === 0)).toBe(true);
    expect(other.details[0]).toMatchObject({ zeroMap: true, peak: 0 });
    // Without the ReLU the signed map is kept.
    const signed = await explain(model, 'gradcam', { x, target: 1, params: { relu: false } });
    Array.from(signed.maps.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(-pattern[i] / peak, 5));
    tf.dispose([x, a.maps, other.maps, signed.maps]);
    model.dispose();
  });

  it('upsamples with half-pixel centres, so the map is not shifted', async () => {
    // Left half bright: the pooled 2x2 map is [[1, 0], [1, 0]]; upsampled to 4x4 each row reads 1, 0.75, 0.25, 0
    // (tfjs's default resize would give 1, 0.5, 0, 0: the map moved by half a cell).
    const model = pooledCamModel(4);
    const x = tf.tensor4d([1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0], [1, 4, 4, 1]);
    const a = await explain(model, 'gradcam', { x, target: 0 });
    expect(a.details[0].layer).toBe('pool');
    const row = Array.from(a.maps.dataSync()).slice(0, 4);
    [1, 0.75, 0.25, 0].forEach((v, i) => expect(row[i]).toBeCloseTo(v, 5));
    tf.dispose([x, a.maps]);
    model.dispose();
  });

  it('runs on a named layer and upsamples to the input size', async () => {
    const model = smoothCnn(8, 1);
    const x = uniformInputs(2, [8, 8, 1]);
    const a = await explain(model, 'gradcam', { x, layer: 'conv1' });
    expect(a.maps.shape).toEqual([2, 8, 8]);
    expect(a.details.map((d) => d.layer)).toEqual(['conv1', 'conv1']);
    const max = tf.tidy(() => tf.max(a.maps).dataSync()[0]);
    expect(max).toBeCloseTo(1, 5);
    tf.dispose([x, a.maps]);
    model.dispose();
  });

  it('says which layers exist, and why a model without 4-D activations cannot be used', async () => {
    const cnn = smoothCnn(8, 1);
    const x = uniformInputs(1, [8, 8, 1]);
    await expect(explain(cnn, 'gradcam', { x, layer: 'nope' })).rejects.toThrow(/conv1.*conv2/);
    await expect(explain(cnn, 'saliency', { x, layer: 'conv1' })).rejects.toThrow(/only gradcam/);
    const linear = linearModel([8, 8, 1], sineWeights(128), Float32Array.from([0, 0]));
    await expect(explain(linear, 'gradcam', { x })).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringMatching(/4-D activation.*flattens its input.*Use saliency/),
    });
    x.dispose();
    cnn.dispose();
    linear.dispose();
  });
});
