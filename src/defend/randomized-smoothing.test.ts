import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import type { AdvkitError } from '../errors.js';
import { smoothCnn, uniformInputs } from '../explain/test-utils/models.js';
import type { Classifier } from '../models/classifier.js';
import { Rng } from '../util/rng.js';
import {
  ABSTAIN,
  certifiedAccuracy,
  certify,
  sampleCounts,
  smoothedPredict,
  type Certification,
} from './randomized-smoothing.js';
import { clopperPearsonLower, normalCdf, normalInverseCdf } from './statistics.js';
import { constantModel, functionModel, thresholdModel } from './test-utils/models.js';

let cnn: Classifier;
let xs: tf.Tensor4D;

beforeAll(async () => {
  await initNodeBackend();
  cnn = smoothCnn();
  xs = uniformInputs(3, cnn.inputShape as [number, number, number], 4);
});
afterAll(() => {
  cnn.dispose();
  xs.dispose();
});

/** One-pixel inputs with these values. */
function pixels(...values: number[]): tf.Tensor4D {
  return tf.tensor4d(values, [values.length, 1, 1, 1]);
}

async function expectCode(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const err = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as AdvkitError | undefined;
  expect(err?.code).toBe(code);
  expect(err?.message).toMatch(message);
}

describe('certify', () => {
  it('certifies every point of a constant classifier with radius sigma * Phi^-1(alpha^(1/n)) exactly', async () => {
    const model = constantModel(2, 4);
    const x = tf.zeros([3, 2, 2, 1]) as tf.Tensor4D;
    const results = await certify(model, x, { sigma: 0.5, n0: 10, n: 100, alpha: 0.001 });
    x.dispose();
    const pALower = 0.001 ** (1 / 100);
    for (const r of results) {
      expect(r.prediction).toBe(2);
      expect(r.counts).toEqual([0, 0, 100, 0]);
      expect(r.pALower).toBeCloseTo(pALower, 13);
      expect(r.radius).toBeCloseTo(0.5 * 1.5004750241206364, 12); // SciPy: norm.ppf(0.001 ** 0.01)
      expect(r.radius).toBeCloseTo(0.5 * normalInverseCdf(pALower), 14);
    }
  });

  it('abstains when even all n copies cannot push the lower bound to 1/2 (alpha^(1/n) < 1/2)', async () => {
    const model = constantModel(1, 3);
    const x = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
    const [r] = await certify(model, x, { sigma: 0.5, n0: 1, n: 9, alpha: 0.001 });
    x.dispose();
    expect(r).toEqual({
      prediction: ABSTAIN,
      radius: 0,
      pALower: expect.closeTo(0.001 ** (1 / 9), 13),
      counts: [0, 9, 0],
    });
  });

  it('abstains on a 50/50 classifier', async () => {
    const x = pixels(0.5, 0.5, 0.5, 0.5);
    const results = await certify(thresholdModel(), x, { sigma: 0.25, n0: 20, n: 400, seed: 1 });
    x.dispose();
    for (const r of results) {
      expect(r.prediction).toBe(ABSTAIN);
      expect(r.radius).toBe(0);
      expect(r.pALower).toBeLessThan(0.5);
      expect(r.counts[0] + r.counts[1]).toBe(400);
    }
  });

  it('certifies a linear classifier up to, not beyond, its distance to the boundary', async () => {
    // Class 0 iff x > 0.5: at x = 0.7 the other class is 0.2 away; pA = Phi(0.2 / sigma).
    const sigma = 0.25;
    const x = pixels(0.7);
    const [r] = await certify(thresholdModel(), x, { sigma, n0: 50, n: 4000, alpha: 0.001, seed: 3 });
    x.dispose();
    expect(r.prediction).toBe(0);
    expect(r.counts[0] / 4000).toBeCloseTo(normalCdf(0.2 / sigma), 1);
    expect(r.pALower).toBe(clopperPearsonLower(r.counts[0], 4000, 0.001));
    expect(r.radius).toBe(sigma * normalInverseCdf(r.pALower));
    expect(r.radius).toBeLessThan(0.2);
    expect(r.radius).toBeGreaterThan(0.15);
  });

  it('adds unclipped N(0, sigma^2) noise in pixel space', async () => {
    // The boundary at 1.05 lies outside the bounds [0, 1]: only unclipped noise crosses it from x = 1.
    const x = pixels(1);
    const [r] = await certify(thresholdModel(1.05), x, { sigma: 0.25, n0: 10, n: 2000 });
    x.dispose();
    expect(r.counts[0] / 2000).toBeCloseTo(normalCdf(-0.05 / 0.25), 1);
  });

  it('is reproducible: the same seed gives the same result, another seed other counts', async () => {
    const opts = { sigma: 0.5, n0: 8, n: 40 };
    const a = await certify(cnn, xs, { ...opts, seed: 7 });
    const b = await certify(cnn, xs, { ...opts, seed: 7 });
    const c = await certify(cnn, xs, { ...opts, seed: 8 });
    expect(b).toEqual(a);
    expect(c.map((r) => r.counts)).not.toEqual(a.map((r) => r.counts));
  });

  it('gives the same results in a batch, in other pass sizes, and input by input with their offsets', async () => {
    const opts = { sigma: 0.5, n0: 8, n: 40, seed: 5 };
    const batch = await certify(cnn, xs, { ...opts, batchSize: 64 });
    const packed = await certify(cnn, xs, { ...opts, batchSize: 7 });
    expect(packed).toEqual(batch);
    for (let i = 0; i < 3; i++) {
      const xi = tf.slice(xs, [i, 0, 0, 0], [1, -1, -1, -1]);
      const [alone] = await certify(cnn, xi, { ...opts, batchSize: 16, offset: i });
      xi.dispose();
      expect(alone).toEqual(batch[i]);
    }
  });

  it('packs the copies of several inputs into passes of at most batchSize rows', async () => {
    const model = constantModel(0, 2, [1, 1, 1]);
    const x = pixels(0.1, 0.2, 0.3);
    await certify(model, x, { sigma: 0.1, n0: 3, n: 10, batchSize: 4 });
    x.dispose();
    // Selection: 9 copies in passes of 4, 4, 1; estimation: 30 copies in 7 passes of 4 and one of 2.
    expect(model.passes).toEqual([4, 4, 1, 4, 4, 4, 4, 4, 4, 4, 2]);
  });

  it('reports progress up to every copy and leaks no tensor', async () => {
    const seen: { done: number; total: number }[] = [];
    const before = tf.memory().numTensors;
    await certify(cnn, xs, { sigma: 0.25, n0: 5, n: 20, batchSize: 16, onProgress: (p) => seen.push(p) });
    await smoothedPredict(cnn, xs, { sigma: 0.25, n: 20, batchSize: 16 });
    const x0 = tf.slice(xs, [0, 0, 0, 0], [1, -1, -1, -1]);
    await sampleCounts(cnn, x0, 0.25, 20, { rng: new Rng(0), batchSize: 16 });
    x0.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(seen.at(-1)).toEqual({ done: 75, total: 75 });
  });

  it('stops with ABORTED when the signal fires, leaking nothing', async () => {
    const before = tf.memory().numTensors;
    const x = pixels(0.3, 0.6);
    const done = new AbortController();
    done.abort();
    await expectCode(
      certify(thresholdModel(), x, { sigma: 0.1, n: 10, signal: done.signal }),
      'ABORTED',
      /cancel/,
    );

    const controller = new AbortController();
    const model = functionModel(
      [1, 1, 1],
      2,
      (t) => tf.reshape(tf.concat([t, tf.neg(t)], 1), [-1, 2]),
      () => controller.abort(),
    );
    await expectCode(
      certify(model, x, { sigma: 0.1, n: 1000, batchSize: 10, signal: controller.signal }),
      'ABORTED',
      /cancel/,
    );
    expect(model.passes).toEqual([10]);
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('says which parameter is wrong and what it expects', async () => {
    const x = pixels(0.5);
    const model = thresholdModel();
    const bad: [Record<string, unknown>, RegExp][] = [
      [{}, /certify: sigma is required.*pixel units/],
      [{ sigma: 0 }, /certify: sigma must be a number > 0, got 0/],
      [{ sigma: -1 }, /sigma must be a number > 0, got -1/],
      [{ sigma: 0.1, n: 0 }, /certify: n must be an integer >= 1, got 0/],
      [{ sigma: 0.1, n0: 0 }, /certify: n0 must be an integer >= 1, got 0/],
      [{ sigma: 0.1, n: 2.5 }, /n must be an integer >= 1, got 2.5/],
      [{ sigma: 0.1, alpha: 0 }, /alpha must be a number > 0 and < 1, got 0/],
      [{ sigma: 0.1, alpha: 1 }, /alpha must be a number > 0 and < 1, got 1/],
      [{ sigma: 0.1, batchSize: 0 }, /batchSize must be an integer >= 1, got 0/],
      [{ sigma: 0.1, seed: -1 }, /seed must be an integer >= 0, got -1/],
      [{ sigma: 0.1, offset: -2 }, /offset must be an integer >= 0.*got -2/],
      [{ sigma: 0.1, samples: 10 }, /unknown parameter 'samples'/],
    ];
    for (const [opts, message] of bad) {
      // The options are wrong on purpose: the checks are for callers without the types (JSON, JavaScript).
      await expectCode(certify(model, x, opts as { sigma: number }), 'INVALID_ARGUMENT', message);
    }
    await expectCode(
      smoothedPredict(model, x, { sigma: 0.1, n: 0 }),
      'INVALID_ARGUMENT',
      /smoothedPredict: n/,
    );
    const wrong = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
    await expectCode(
      certify(model, wrong, { sigma: 0.1 }),
      'INVALID_ARGUMENT',
      /shape \[n, 1, 1, 1\], got \[1, 2, 2, 1\]/,
    );
    await expectCode(
      sampleCounts(model, wrong, 0.1, 10, { rng: new Rng(0) }),
      'INVALID_ARGUMENT',
      /one input of shape \[1, 1, 1\]/,
    );
    await expectCode(sampleCounts(model, x, 0.1, 0, { rng: new Rng(0) }), 'INVALID_ARGUMENT', /num must be/);
    tf.dispose([x, wrong]);
  });
});

describe('smoothedPredict', () => {
  it("returns a constant classifier's class once the binomial test rejects a tie", async () => {
    const x = tf.zeros([2, 2, 2, 1]) as tf.Tensor4D;
    const results = await smoothedPredict(constantModel(1, 3), x, { sigma: 1, n: 20, alpha: 0.001 });
    // Too few copies: 10 out of 10 has p-value 2^-9 > alpha.
    const few = await smoothedPredict(constantModel(1, 3), x, { sigma: 1, n: 10, alpha: 0.001 });
    x.dispose();
    for (const r of results) {
      expect(r.prediction).toBe(1);
      expect(r.counts).toEqual([0, 20, 0]);
      expect(r.pValue).toBeCloseTo(2 * 0.5 ** 20, 15);
    }
    for (const r of few) expect(r.prediction).toBe(ABSTAIN);
  });

  it('abstains on a 50/50 classifier', async () => {
    const x = pixels(0.5, 0.5, 0.5, 0.5, 0.5);
    const results = await smoothedPredict(thresholdModel(), x, { sigma: 0.25, n: 500, seed: 2 });
    x.dispose();
    for (const r of results) {
      expect(r.prediction).toBe(ABSTAIN);
      expect(r.pValue).toBeGreaterThan(0.001);
    }
  });

  it('predicts the clear side of a boundary, the same for the same seed', async () => {
    const x = pixels(0.9, 0.1);
    const a = await smoothedPredict(thresholdModel(), x, { sigma: 0.25, n: 200, seed: 4 });
    const b = await smoothedPredict(thresholdModel(), x, { sigma: 0.25, n: 200, seed: 4, batchSize: 33 });
    x.dispose();
    expect(a.map((r) => r.prediction)).toEqual([0, 1]);
    expect(b).toEqual(a);
  });
});

describe('sampleCounts', () => {
  it('counts the argmax of num noisy copies, whatever the pass size, drawing from the rng given', async () => {
    const x = tf.slice(xs, [1, 0, 0, 0], [1, -1, -1, -1]);
    const whole = await sampleCounts(cnn, x, 0.5, 30, { rng: new Rng(9), batchSize: 30 });
    const parts = await sampleCounts(cnn, tf.squeeze<tf.Tensor3D>(x, [0]), 0.5, 30, {
      rng: new Rng(9),
      batchSize: 4,
    });
    const rng = new Rng(9);
    const first = await sampleCounts(cnn, x, 0.5, 30, { rng });
    const second = await sampleCounts(cnn, x, 0.5, 30, { rng });
    x.dispose();
    expect(whole.reduce((s, v) => s + v, 0)).toBe(30);
    expect(Array.from(parts)).toEqual(Array.from(whole));
    expect(Array.from(first)).toEqual(Array.from(whole));
    expect(Array.from(second)).not.toEqual(Array.from(first));
  });
});

describe('certifiedAccuracy', () => {
  it('counts correct predictions certified at each radius or beyond; abstentions are wrong', () => {
    const results: Certification[] = [
      { prediction: 0, radius: 0.5, pALower: 0.9, counts: [] },
      { prediction: 1, radius: 0.2, pALower: 0.8, counts: [] },
      { prediction: 2, radius: 1.0, pALower: 0.99, counts: [] }, // wrong
      { prediction: ABSTAIN, radius: 0, pALower: 0.4, counts: [] },
    ];
    expect(certifiedAccuracy(results, [0, 1, 1, 3], [0, 0.2, 0.25, 0.5, 0.75])).toEqual([
      0.5, 0.5, 0.25, 0.25, 0,
    ]);
    expect(certifiedAccuracy(results, Int32Array.from([-1, 1, 2, 3]), [0])).toEqual([0.5]);
  });

  it('rejects mismatched labels, no results and bad radii', () => {
    const one = [{ prediction: 0, radius: 1 }];
    expect(() => certifiedAccuracy(one, [0, 1], [0])).toThrow(/one label per result \(1\), got 2/);
    expect(() => certifiedAccuracy([], [], [0])).toThrow(/no results/);
    expect(() => certifiedAccuracy(one, [0], [-0.1])).toThrow(/finite number >= 0, got -0.1/);
  });
});
