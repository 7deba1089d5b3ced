import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { AdvkitError } from '../errors.js';
import type { Classifier } from './classifier.js';
import { createClassifier } from './create-classifier.js';

function mlp(): Classifier {
  return createClassifier('mlp', { inputShape: [4, 4, 1], numClasses: 3, hiddenSizes: [5], seed: 2 });
}

/** Sets the first kernel entry of the logits layer to `value`, in place (after a ReLU, NaN could be clipped). */
function poison(c: Classifier, value: number): void {
  if (!(c.net instanceof tfl.LayersModel)) throw new Error('expected a layers model');
  const layer = [...c.net.layers].reverse().find((l) => l.getWeights().length > 0);
  if (layer === undefined) throw new Error('expected a layer with weights');
  const [kernel, ...rest] = layer.getWeights();
  const values = kernel.dataSync().slice();
  values[0] = value;
  const bad = tf.tensor(values, kernel.shape);
  layer.setWeights([bad, ...rest]);
  bad.dispose();
}

function batch(fill = 0.5): tf.Tensor4D {
  return tf.fill([2, 4, 4, 1], fill);
}

/** Tensors left behind by `fn`, which must throw. */
function strandedBy(fn: () => unknown): number {
  const before = tf.memory().numTensors;
  expect(fn).toThrow();
  return tf.memory().numTensors - before;
}

function thrown(fn: () => unknown): AdvkitError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AdvkitError);
    return err as AdvkitError;
  }
  throw new Error('expected an error');
}

describe('Classifier.logits checks the first batch it produces', () => {
  beforeAll(async () => {
    await initNodeBackend();
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses logits made non-finite by a %s weight (CORRUPT_DATA), leaking nothing', (value) => {
    const c = mlp();
    poison(c, value);
    const x = batch();
    const before = tf.memory().numTensors;
    const err = thrown(() => tf.tidy(() => c.logits(x)));
    expect(err.code).toBe('CORRUPT_DATA');
    expect(err.message).toMatch(/logits contain (NaN|Infinity) for a finite input batch/);
    expect(err.message).toMatch(/corrupt or its training diverged/);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    c.dispose();
  },
  );

  it('refuses inside tf.grad too, stranding no more than any error there does', () => {
    const c = mlp();
    poison(c, Number.NaN);
    const x = batch();
    const grad = (f: (input: tf.Tensor) => tf.Tensor): tf.Tensor => tf.grad(f)(x);
    expect(thrown(() => grad((input) => tf.sum(c.logits(input as tf.Tensor4D)))).code).toBe('CORRUPT_DATA');
    // tfjs keeps the activations a tape saves for the backward pass, and an error thrown inside tf.grad never
    // reaches it, whatever the error; the check adds no tensor of its own to those.
    const checked = mlp();
    tf.tidy(() => checked.logits(x));
    const anyError = strandedBy(() =>
      grad((input) => {
        checked.logits(input as tf.Tensor4D);
        throw new Error('any error');
      }),
    );
    expect(strandedBy(() => grad((input) => tf.sum(c.logits(input as tf.Tensor4D))))).toBe(anyError);
    x.dispose();
    c.dispose();
    checked.dispose();
  });

  it('gives the same gradient when its first call (the checked one) is inside tf.grad', () => {
    const checkedFirst = mlp();
    const warmed = mlp();
    const x = batch(0.3);
    tf.tidy(() => warmed.logits(x));
    const before = tf.memory().numTensors;
    const gradOf = (c: Classifier): Float32Array =>
      tf.tidy(() => tf.grad((input: tf.Tensor) => tf.sum(c.logits(input as tf.Tensor4D)))(x).dataSync() as Float32Array);
    const first = gradOf(checkedFirst);
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(first)).toEqual(Array.from(gradOf(warmed)));
    expect(first.some((v) => v !== 0)).toBe(true);
    x.dispose();
    checkedFirst.dispose();
    warmed.dispose();
  });

  it('judges the model on a finite batch only, and checks once', () => {
    const c = mlp();
    poison(c, Number.NaN);
    const nan = batch(Number.NaN);
    // With NaN pixels NaN logits say nothing about the model: the check waits for a finite batch.
    expect(tf.tidy(() => Number.isNaN(c.logits(nan).dataSync()[0]))).toBe(true);
    const x = batch();
    expect(thrown(() => tf.tidy(() => c.logits(x))).code).toBe('CORRUPT_DATA');
    x.dispose();
    nan.dispose();
    c.dispose();

    // Once a finite batch has passed, later passes are not read back (the check stays out of the hot path).
    const checked = mlp();
    const y = batch();
    tf.tidy(() => checked.logits(y));
    poison(checked, Number.NaN);
    expect(tf.tidy(() => Number.isNaN(checked.logits(y).dataSync()[0]))).toBe(true);
    y.dispose();
    checked.dispose();
  });
});
