import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cw } from './cw.js';
import { deepfool } from './deepfool.js';
import { runAttack } from './run-attack.js';
import { describeAttackContract } from './test-utils/contract.js';
import { linearBoundary, type LinearBoundary } from './test-utils/linear-boundary.js';
import { loadMnistFixture, type MnistFixture } from './test-utils/mnist-fixture.js';

/** Short runs: c starts near its useful range on MNIST's logits, Adam takes larger steps. */
const quick = { binarySearchSteps: 3, steps: 100, initialConst: 1, stepSize: 0.1 };

// Targeted C&W needs more room than untargeted: 2 rounds of 30 coarse steps reach the class y + 1 of the
// first 8 images within L2 1.5 - 2.9.
describeAttackContract(cw, [
  {
    norm: 'l2',
    eps: 3,
    count: 8,
    params: { binarySearchSteps: 2, steps: 30, initialConst: 1, stepSize: 0.3 },
    badParams: { initialConst: 0 },
  },
]);

describe('cw on a linear binary classifier (closed-form minimal distance)', () => {
  const distances = [0.3, 0.2];
  let lin: LinearBoundary;
  /** w . x + b per example: the lead of class 0 (the label) over class 1. */
  const lead = (x: tf.Tensor4D): Float32Array => {
    const t = tf.tidy(() => {
      const z = lin.classifier.logits(x);
      return tf.sub(tf.slice(z, [0, 0], [-1, 1]), tf.slice(z, [0, 1], [-1, 1]));
    });
    const out = Float32Array.from(t.dataSync());
    t.dispose();
    return out;
  };
  beforeAll(async () => {
    lin = await linearBoundary({ inputShape: [4, 4, 1], distances, norm: 'l2', seed: 3 });
  });
  afterAll(() => lin.dispose());

  // The default search (c from 1e-3, times 10 until a success, then bisection) must reach the boundary's
  // closest point, at |f| / ||w||_2 (with confidence kappa: (|f| + kappa) / ||w||_2), from above. Measured
  // with 100 steps per round: within 0.2% of it (60 steps: 2.6%, 200: 0.02%).
  for (const confidence of [0, 0.2]) {
    it(`confidence ${confidence}: finds the closest point past the boundary`, async () => {
      const clean = lead(lin.x);
      const before = tf.memory().numTensors;
      const params = { steps: 100, confidence };
      const run = await runAttack(lin.classifier, cw, { x: lin.x, labels: lin.labels, norm: 'l2', params });
      const r = run.results[0];
      const adv = r.adversarial;
      if (adv === null) throw new Error('no adversarial kept');
      const after = lead(adv);
      distances.forEach((dist, i) => {
        const minimal = dist * (1 + confidence / clean[i]);
        expect(r.success[i]).toBe(1);
        expect(r.distances.l2[i]).toBeGreaterThanOrEqual(minimal - 1e-4);
        expect(r.distances.l2[i]).toBeLessThanOrEqual(minimal * 1.005);
        expect(-after[i]).toBeGreaterThanOrEqual(confidence - 1e-4);
      });
      run.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('cw on the bundled MNIST model', () => {
  let m: MnistFixture;
  beforeAll(async () => {
    m = await loadMnistFixture(20);
  });
  afterAll(() => m.dispose());

  it('returns the clean input where no round succeeded', async () => {
    const x = tf.slice(m.x, [0, 0, 0, 0], [4, -1, -1, -1]);
    const params = { binarySearchSteps: 1, steps: 10, initialConst: 1e-3 };
    const run = await runAttack(m.classifier, cw, { x, labels: m.labels.subarray(0, 4), norm: 'l2', params });
    const r = run.results[0];
    expect(Array.from(r.success)).toEqual([0, 0, 0, 0]);
    expect(Array.from(r.adversarial?.dataSync() ?? [])).toEqual(Array.from(x.dataSync()));
    run.dispose();
    x.dispose();
  });

  // Measured on the first 20 test images (wasm): C&W with `quick` (3 rounds of 100 steps) fools 20/20 at a
  // median L2 of 1.162; with one round (the same first round) 1.306; DeepFool-L2 (defaults) 1.327. C&W with
  // 100 steps and the full default search (9 rounds from c = 1e-3) reaches 1.145, with 3 rounds of 200
  // steps at stepSize 0.05 1.125.
  it('C&W-L2 finds smaller perturbations than DeepFool-L2 and keeps its best round', async () => {
    const options = { x: m.x, labels: m.labels, norm: 'l2', keepAdversarial: false } as const;
    const full = await runAttack(m.classifier, cw, { ...options, params: quick });
    const oneRound = await runAttack(m.classifier, cw, {
      ...options,
      params: { ...quick, binarySearchSteps: 1 },
    });
    const df = await runAttack(m.classifier, deepfool, options);
    const [c, c1, dfr] = [full, oneRound, df].map((run) => run.results[0]);
    expect(full.cleanAccuracy).toBe(1);
    expect(c.successRate).toBe(1);
    expect(dfr.successRate).toBe(1);
    // The first round is the same in both runs, and later rounds only replace a result by a smaller one.
    for (let i = 0; i < 20; i++) {
      if (c1.success[i] === 1) expect(c.distances.l2[i]).toBeLessThanOrEqual(c1.distances.l2[i] + 1e-6);
    }
    const cwMedian = median(Array.from(c.distances.l2));
    expect(cwMedian).toBeLessThanOrEqual(1.22);
    expect(cwMedian).toBeLessThanOrEqual(0.93 * median(Array.from(dfr.distances.l2)));
    expect(median(Array.from(c1.distances.l2))).toBeGreaterThan(cwMedian * 1.05);
  });
});

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
