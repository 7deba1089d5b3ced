import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.js';
import { BatchContext } from './attack-context.js';
import { attackLoss } from './losses.js';
import { pgd } from './pgd.js';
import { runAttack } from './run-attack.js';
import { loadMnistFixture, type MnistFixture } from './test-utils/mnist-fixture.js';

let f: MnistFixture;
beforeAll(async () => {
  f = await loadMnistFixture(100);
});
afterAll(() => f.dispose());

describe('the iterative gradient engine', () => {
  it('input gradients of the attack loss match finite differences', () => {
    const x = tf.slice(f.x, [0, 0, 0, 0], [4, -1, -1, -1]);
    const labels = f.labels.subarray(0, 4);
    const ctx = new BatchContext({
      classifier: f.classifier,
      x,
      labels,
      targets: null,
      eps: 0.1,
      norm: 'linf',
      rng: new Rng(1),
    });
    const lossFn = (z: tf.Tensor2D): tf.Tensor1D =>
      attackLoss('ce', z, tf.tensor1d(labels, 'int32'), { targets: null });
    const { logits, loss, grad } = ctx.gradient(x, lossFn);
    const rng = new Rng(2);
    const v = tf.tensor4d(
      Float32Array.from({ length: x.size }, () => rng.normal()),
      x.shape,
    );
    const h = 1e-3;
    const [plus, minus] = [h, -h].map((s) =>
      tf.tidy(() => lossFn(f.classifier.logits(tf.add(x, tf.mul(v, s)) as tf.Tensor4D)).dataSync()),
    );
    const directional = tf.tidy(() => tf.sum(tf.reshape(tf.mul(grad, v), [4, -1]), 1).dataSync());
    for (let i = 0; i < 4; i++) {
      const fd = (plus[i] - minus[i]) / (2 * h);
      expect(Math.abs(fd - directional[i])).toBeLessThan(0.02 * Math.abs(fd) + 1e-3);
    }
    expect(ctx.cost).toEqual({ gradients: 4, queries: 4 });
    tf.dispose([logits, loss, grad, v, x]);
  });

  it('PGD-40 at Linf eps 0.3 leaves under 1% accuracy on the standard MNIST model (100 test images)', async () => {
    const run = await runAttack(f.classifier, pgd, {
      x: f.x,
      labels: f.labels,
      eps: 0.3,
      keepAdversarial: false,
    });
    expect(run.cleanAccuracy).toBeGreaterThanOrEqual(0.98);
    expect(run.results[0].accuracy).toBeLessThan(0.01);
  });

  it('early stop keeps adversarial points and saves gradients; without it every example runs every step', async () => {
    const base = { x: f.x, labels: f.labels, eps: 0.15, keepAdversarial: false, seed: 3 } as const;
    const early = await runAttack(f.classifier, pgd, { ...base, params: { steps: 10 } });
    const full = await runAttack(f.classifier, pgd, { ...base, params: { steps: 10, earlyStop: false } });
    expect(full.results[0].cost.gradients).toBe(100 * 10);
    expect(early.results[0].cost.gradients).toBeLessThan(100 * 10);
    // A point that was adversarial at some step stays so with early stop: at least as strong as the last iterate.
    expect(early.results[0].successRate).toBeGreaterThanOrEqual(full.results[0].successRate);
  });

  it('restarts only add successes (the first run is the single run, same seed)', async () => {
    const base = { x: f.x, labels: f.labels, eps: 0.1, keepAdversarial: false, seed: 9 } as const;
    const one = await runAttack(f.classifier, pgd, { ...base, params: { steps: 5 } });
    const three = await runAttack(f.classifier, pgd, { ...base, params: { steps: 5, restarts: 3 } });
    one.results[0].success.forEach((s, i) => {
      if (s === 1) expect(three.results[0].success[i]).toBe(1);
    });
    expect(three.results[0].successRate).toBeGreaterThanOrEqual(one.results[0].successRate);
    expect(three.results[0].cost.gradients).toBeGreaterThan(one.results[0].cost.gradients);
  });
});
