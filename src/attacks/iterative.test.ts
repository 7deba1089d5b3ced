import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClassifier } from '../models/create-classifier.js';
import { Rng } from '../util/rng.js';
import { BatchContext } from './attack-context.js';
import { iterativeAttack } from './iterative.js';
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

describe('the engine hooks', () => {
  it('ascends a custom objective from a custom start, projected: one step is x + eps * sign(its gradient)', async () => {
    const model = createClassifier('linear', { inputShape: [2, 3, 1], numClasses: 3, seed: 7 });
    const kernel = model.trainableVariables()[0].arraySync() as number[][];
    const x = tf.tensor4d([0.1, 0.9, 0.5, 0.05, 0.95, 0.4, 0.3, 0.6, 0.2, 0.7, 0.5, 0.5], [2, 2, 3, 1]);
    const before = tf.memory().numTensors;
    const seenRows: number[][] = [];
    const settings = {
      steps: 1,
      stepSize: 0.3,
      restarts: 1,
      momentum: 0,
      earlyStop: false,
      l1Sparsity: 1,
      // Ascend minus the logit of class 2 (whatever the labels): the step is -eps * sign(w_2).
      loss: (z: tf.Tensor2D, rows: Int32Array): tf.Tensor1D => {
        seenRows.push(Array.from(rows));
        return tf.tidy(() => tf.neg(tf.squeeze<tf.Tensor1D>(tf.slice(z, [0, 2], [-1, 1]), [1])));
      },
    };
    const context = (): BatchContext =>
      new BatchContext({
        classifier: model,
        x,
        labels: new Int32Array(2),
        targets: null,
        eps: 0.2,
        norm: 'linf',
        rng: new Rng(0),
      });
    const stepped = await iterativeAttack(context(), { ...settings, randomStart: false });
    const xs = x.dataSync();
    const expected = Array.from(xs, (v, i) =>
      Math.min(1, Math.max(0, v - 0.2 * Math.sign(kernel[i % 6][2]))),
    );
    Array.from(stepped.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    expect(seenRows).toEqual([[0, 1]]);
    // A start far outside the ball is projected onto it and the bounds before the first step.
    const started = await iterativeAttack(context(), {
      ...settings,
      steps: 0,
      randomStart: (x0) => tf.add<tf.Tensor4D>(x0, 0.5),
    });
    Array.from(started.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(Math.min(1, xs[i] + 0.2), 6));
    tf.dispose([stepped, started]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    model.dispose();
  });
});
