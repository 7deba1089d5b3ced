import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { AdvkitError } from '../errors.js';
import type { Classifier } from '../models/classifier.js';
import { createClassifier } from '../models/create-classifier.js';
import type { Model } from '../models/model.js';
import { roll, visualizeFeatures } from './feature-visualization.js';

const SHAPE: [number, number, number] = [6, 6, 1];
let linear: Classifier;
let conv: Classifier;
/** Class k's weight row of the linear model, as a flat array in HWC order. */
let weightRow: (k: number) => Float32Array;

beforeAll(async () => {
  await initNodeBackend();
  linear = createClassifier('linear', { inputShape: SHAPE, numClasses: 3, seed: 1 });
  conv = createClassifier('cifar-cnn', { inputShape: [8, 8, 3], numClasses: 3, seed: 2 });
  const net = linear.net;
  if (!(net instanceof tfl.LayersModel)) throw new Error('The linear architecture should be a LayersModel.');
  const kernel = net.getWeights()[0].dataSync();
  const d = SHAPE[0] * SHAPE[1] * SHAPE[2];
  weightRow = (k) => Float32Array.from({ length: d }, (_, j) => kernel[j * 3 + k]);
});
afterAll(() => {
  linear.dispose();
  conv.dispose();
});

const grey = (shape: [number, number, number]): tf.Tensor4D => tf.fill([1, ...shape], 0.5) as tf.Tensor4D;
const norm = (v: ArrayLike<number>): number => Math.hypot(...Array.from(v));

async function visualizeFrom(
  model: Model,
  start: tf.Tensor4D,
  options: Parameters<typeof visualizeFeatures>[2] = {},
): Promise<Float32Array> {
  const out = await visualizeFeatures(model, { kind: 'class', classes: [1] }, { start, ...options });
  const values = Float32Array.from(await out.images.data());
  out.images.dispose();
  return values;
}

describe('visualizeFeatures on a linear model (the gradient of logit k is the weight row w_k)', () => {
  it('one step moves the image by stepSize along w_k / ||w_k||', async () => {
    const start = grey(SHAPE);
    const x = await visualizeFrom(linear, start, { steps: 1, stepSize: 0.2 });
    start.dispose();
    const w = weightRow(1);
    const length = norm(w);
    x.forEach((v, j) => expect(v).toBeCloseTo(0.5 + (0.2 * w[j]) / length, 5));
  });

  it('with no ball, climbs to the corner of the box that maximizes w_k . x', async () => {
    const start = grey(SHAPE);
    const x = await visualizeFrom(linear, start, { steps: 2, stepSize: 100 });
    start.dispose();
    const w = weightRow(1);
    x.forEach((v, j) => expect(v).toBeCloseTo(w[j] > 0 ? 1 : 0, 6));
  });

  it('with a ball of radius eps, stops at x0 + eps * w_k / ||w_k||', async () => {
    const start = grey(SHAPE);
    const x = await visualizeFrom(linear, start, { steps: 10, stepSize: 0.15, eps: 0.5 });
    start.dispose();
    const w = weightRow(1);
    const length = norm(w);
    x.forEach((v, j) => expect(v).toBeCloseTo(0.5 + (0.5 * w[j]) / length, 5));
  });

  it('raises the logit at every step until the box stops it, and reports the final logit', async () => {
    const out = await visualizeFeatures(
      linear,
      { kind: 'class', classes: [0, 2] },
      { steps: 8, stepSize: 0.3 },
    );
    for (let i = 1; i < out.trace.length; i++) expect(out.trace[i]).toBeGreaterThan(out.trace[i - 1] - 1e-6);
    expect(out.trace[7]).toBeGreaterThan(out.trace[0]);
    const logits = linear.logits(out.images);
    const l = logits.arraySync();
    expect(out.objective[0]).toBeCloseTo(l[0][0], 4);
    expect(out.objective[1]).toBeCloseTo(l[1][2], 4);
    expect(out.cost.gradients).toBe(16);
    tf.dispose([logits, out.images]);
  });

  it('keeps every value within the bounds of a [-1, 1] model', async () => {
    const wide = createClassifier('linear', { inputShape: SHAPE, numClasses: 2, seed: 3, bounds: [-1, 1] });
    const out = await visualizeFeatures(wide, { kind: 'class', classes: [0] }, { steps: 3, stepSize: 50 });
    const values = await out.images.data();
    expect(Math.min(...values)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
    expect(values.some((v) => v === 1) && values.some((v) => v === -1)).toBe(true);
    out.images.dispose();
    wide.dispose();
  });
});

describe('visualizeFeatures on a small conv model', () => {
  it("raises one channel's spatial mean of a named layer", async () => {
    const target = { kind: 'channel', layer: 'conv2', channels: [0, 5] } as const;
    const out = await visualizeFeatures(conv, target, { steps: 6, stepSize: 0.5, noise: 'uniform' });
    expect(out.trace[5]).toBeGreaterThan(out.trace[0]);
    expect(out.objective[0]).toBeGreaterThan(out.trace[0]);
    const shape = out.images.shape;
    expect(shape).toEqual([2, 8, 8, 3]);
    // The objective is what the layer's activation says: the mean of channel 5 for the second image (read
    // inside the tap: the network disposes its intermediate activations when the pass ends).
    let mean: tf.Tensor | undefined;
    const logits = conv.activations?.logits(out.images, 'conv2', (a) => {
      mean = tf.keep(tf.mean(tf.slice(a, [1, 0, 0, 5], [1, -1, -1, 1])));
      return a;
    });
    expect(out.objective[1]).toBeCloseTo((mean as tf.Tensor).dataSync()[0], 4);
    tf.dispose([out.images, mean as tf.Tensor, logits as tf.Tensor2D]);
  });

  it('gives the same images for the same seed, other images for another seed (noise start, jitter, blur)', async () => {
    const run = async (seed: number): Promise<Float32Array> => {
      const out = await visualizeFeatures(
        conv,
        { kind: 'class', classes: [0, 1] },
        { steps: 4, jitter: 2, blurEvery: 2, blurSigma: 0.5, seed },
      );
      const values = Float32Array.from(await out.images.data());
      out.images.dispose();
      return values;
    };
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    expect(await run(8)).not.toEqual(a);
  });

  it('leaves no tensor behind', async () => {
    await visualizeFeatures(conv, { kind: 'class', classes: [0] }, { steps: 1 }).then((o) =>
      o.images.dispose(),
    );
    const before = tf.memory().numTensors;
    const a = await visualizeFeatures(
      conv,
      { kind: 'class', classes: [0, 2] },
      { steps: 3, jitter: 1, blurEvery: 1 },
    );
    a.images.dispose();
    const target = { kind: 'channel', layer: 'conv1', channels: [1] } as const;
    const b = await visualizeFeatures(conv, target, { steps: 3, jitter: 1, eps: 1 });
    b.images.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('visualizeFeatures errors', () => {
  async function errorOf(p: Promise<unknown>): Promise<AdvkitError> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AdvkitError);
    return err as AdvkitError;
  }

  it('names an unknown layer and lists the layers that have a 4-D activation', async () => {
    const err = await errorOf(visualizeFeatures(conv, { kind: 'channel', layer: 'conv9', channels: [0] }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain("Unknown layer 'conv9'");
    expect(err.message).toContain('conv1 [8x8x32]');
  });

  it('says why a model without activations cannot have a channel objective', async () => {
    const blackBox: Model = {
      inputShape: conv.inputShape,
      bounds: conv.bounds,
      classNames: conv.classNames,
      numClasses: conv.numClasses,
      logits: (x) => conv.logits(x),
      predict: (x) => conv.predict(x),
      dispose: () => undefined,
    };
    const err = await errorOf(
      visualizeFeatures(blackBox, { kind: 'channel', layer: 'conv1', channels: [0] }),
    );
    expect(err.code).toBe('UNSUPPORTED');
    expect(err.message).toContain('exposes no intermediate activations');
  });

  it('refuses a class or a channel that the model does not have, a bad option and a start of another shape', async () => {
    const cases: [Promise<unknown>, string][] = [
      [visualizeFeatures(conv, { kind: 'class', classes: [3] }), 'class 3 is not one of'],
      [
        visualizeFeatures(conv, { kind: 'channel', layer: 'conv1', channels: [32] }),
        'channel 32 is not one of',
      ],
      [
        visualizeFeatures(conv, { kind: 'class', classes: [0] }, { steps: 0 }),
        'steps must be an integer >= 1',
      ],
      [
        visualizeFeatures(conv, { kind: 'class', classes: [0] }, { start: grey([6, 6, 1]) }),
        'the start must be',
      ],
    ];
    for (const [p, message] of cases) {
      const err = await errorOf(p);
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toContain(message);
    }
  });
  it('stops with ABORTED when the signal is aborted, leaving no tensor behind', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const run = visualizeFeatures(
      linear,
      { kind: 'class', classes: [0] },
      { steps: 50, onStep: (s) => s.step === 2 && controller.abort(), signal: controller.signal },
    );
    expect((await errorOf(run)).code).toBe('ABORTED');
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('roll', () => {
  it('moves row i to row i + dy and column j to j + dx, wrapping, and is undone by the opposite roll', () => {
    const x = tf.tensor4d(
      Float32Array.from({ length: 12 }, (_, i) => i),
      [1, 3, 4, 1],
    );
    const r = roll(x, 1, -1);
    const grid = (t: tf.Tensor4D): number[][] =>
      (t.arraySync()[0] as number[][][]).map((row) => row.map((v) => v[0]));
    expect(grid(r)).toEqual([
      [9, 10, 11, 8],
      [1, 2, 3, 0],
      [5, 6, 7, 4],
    ]);
    const back = roll(r, -1, 1);
    expect(grid(back)).toEqual(grid(x));
    tf.dispose([x, r, back]);
  });
});
