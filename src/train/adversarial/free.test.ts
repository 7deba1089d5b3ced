import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { toTensors } from '../../data/dataset.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import { createClassifier } from '../../models/create-classifier.js';
import { crossEntropyFromLogits } from '../loss.js';
import { blobDataset } from '../test-utils/fixtures.js';
import { FREE_DELTA, freeMethod } from './free.js';
import type { MicroBatch } from './training-method.js';

beforeAll(async () => {
  await initNodeBackend({ backend: 'cpu' });
});

describe('Free AT step', () => {
  it("moves only its micro-batch's rows of delta by eps * sign(grad), projected onto the box", async () => {
    const classifier = createClassifier('linear', { inputShape: [8, 8, 1], numClasses: 4, seed: 2 });
    const variables = classifier.trainableVariables();
    const data = blobDataset({ count: 6 });
    const eps = 0.1;
    const method = freeMethod(
      { classifier, variables, labelSmoothing: 0, imagesPerStep: 10 },
      { eps, stepSize: eps, cleanWeight: 0 },
    );
    const { x, y } = toTensors(data);
    const micro: MicroBatch = { x, y, labels: Int32Array.from(data.labels), offset: 4, weight: 0.6 };
    // The expected step: delta starts at 0, so the gradient is the input gradient at the clean images.
    const g = tf.grad((input: tf.Tensor) =>
      crossEntropyFromLogits(classifier.logits(input as tf.Tensor4D), y),
    )(x);
    const expected = tf.tidy(() =>
      tf.sub(tf.clipByValue(tf.add(x, tf.mul(tf.sign(g), eps)), 0, 1), x).dataSync(),
    );
    const out = await method.micro(micro, { eps, rng: null, replay: 0, dropoutSeed: 0 });
    expect(out.grads.length).toBe(variables.length);
    const delta = (await method.state())[FREE_DELTA][0];
    const per = 64;
    expect(Array.from(delta.subarray(0, 4 * per)).every((v) => v === 0)).toBe(true);
    Array.from(delta.subarray(4 * per)).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    expect(delta.subarray(4 * per).some((v) => v !== 0)).toBe(true);
    // The warm start survives checkpoints: the state is restorable.
    method.restore({ [FREE_DELTA]: [new Float32Array(10 * per).fill(-eps)] });
    expect(Array.from((await method.state())[FREE_DELTA][0].subarray(0, 3))).toEqual(
      [-eps, -eps, -eps].map(Math.fround),
    );
    expect(() => method.restore({})).toThrow(/no Free AT perturbation of 640 values/);
    tf.dispose([...out.grads, out.stats, g, x, y]);
    method.dispose();
    classifier.dispose();
  });
});
