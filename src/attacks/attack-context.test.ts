import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { breakClassifier } from '../evaluate/test-utils/broken-models.js';
import type { Classifier } from '../models/classifier.js';
import type { Model } from '../models/model.js';
import { Rng } from '../util/rng.js';
import { BatchContext } from './attack-context.js';
import { attackLoss } from './losses.js';
import { pgd } from './pgd.js';
import { runAttack } from './run-attack.js';
import { loadMnistFixture, type MnistFixture } from './test-utils/mnist-fixture.js';

let f: MnistFixture;
let noisy: Classifier;
beforeAll(async () => {
  f = await loadMnistFixture(24);
  // A randomized defense: fresh Gaussian noise on every pass. It takes over f.classifier's network.
  noisy = breakClassifier(f.classifier, 'noisy', { sigma: 0.3, seed: 1 });
});
afterAll(() => {
  noisy.dispose();
  f.x.dispose();
});

function context(classifier: Classifier, eot?: number): BatchContext {
  return new BatchContext({
    classifier,
    x: f.x,
    labels: f.labels,
    targets: null,
    eps: 0.3,
    norm: 'linf',
    rng: new Rng(0),
    eot,
  });
}

/** The input gradient of the CE loss under `ctx`, as plain numbers; the tensors are disposed. */
function gradientOf(ctx: BatchContext): Float32Array {
  const labels = tf.tensor1d(f.labels, 'int32');
  const pass = ctx.gradient(f.x, (z) => attackLoss('ce', z, labels, { targets: null }));
  const values = pass.grad.dataSync() as Float32Array;
  [pass.logits, pass.loss, pass.grad, labels].forEach((t) => t.dispose());
  return values;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

describe('BatchContext.gradient with EOT', () => {
  it('averages eot passes: two EOT gradients of a randomized model agree far better than two single draws', () => {
    const before = tf.memory().numTensors;
    const single = cosine(gradientOf(context(noisy)), gradientOf(context(noisy)));
    const eot = cosine(gradientOf(context(noisy, 20)), gradientOf(context(noisy, 20)));
    // Measured: about 0.06 for single draws and 0.73 for EOT-20 (sigma 0.3 noise on every pass).
    expect(single).toBeLessThan(0.3);
    expect(eot).toBeGreaterThan(0.5);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('counts one gradient and one query per pass and returns the mean loss', () => {
    const ctx = context(noisy, 5);
    const labels = tf.tensor1d(f.labels, 'int32');
    const pass = ctx.gradient(f.x, (z) => attackLoss('ce', z, labels, { targets: null }));
    expect(ctx.cost).toEqual({ gradients: 5 * 24, queries: 5 * 24 });
    expect(pass.loss.shape).toEqual([24]);
    expect(pass.logits.shape).toEqual([24, 10]);
    expect(pass.grad.shape).toEqual(f.x.shape);
    [pass.logits, pass.loss, pass.grad, labels].forEach((t) => t.dispose());
  });

  it('makes PGD find the directions that fool a randomized defense: single draws find far fewer', async () => {
    const before = tf.memory().numTensors;
    // Scored by the mean accuracy over 16 passes, so that the score measures the attack, not a lucky draw.
    const accuracy = async (eot: number): Promise<number> => {
      const run = await runAttack(noisy, pgd, {
        x: f.x,
        labels: f.labels,
        eps: 0.1,
        params: { steps: 40 },
        eot,
        seed: 2,
      });
      const adversarial = run.results[0].adversarial as tf.Tensor4D;
      let correct = 0;
      for (let pass = 0; pass < 16; pass++) {
        const predictions = tf.tidy(() => tf.argMax(noisy.logits(adversarial), 1).dataSync());
        correct += predictions.filter((p, i) => p === f.labels[i]).length;
      }
      run.dispose();
      return correct / (16 * f.labels.length);
    };
    // Measured: 0.79-0.82 expected accuracy after single-draw PGD-40 and 0.62-0.64 after EOT-8 PGD-40.
    const single = await accuracy(1);
    const eot = await accuracy(8);
    expect(eot).toBeLessThan(single - 0.1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('counts a point as fooled only when every EOT pass is fooled, not when the mean of the passes is', () => {
    const before = tf.memory().numTensors;
    const labels = Int32Array.from([0, 0]);
    // A "random" model that is wrong with a large margin on two calls in three and right on the third, for row 0;
    // always wrong for row 1.
    let calls = 0;
    const flaky: Model = {
      inputShape: [1, 1, 1],
      bounds: [0, 1],
      classNames: ['a', 'b'],
      numClasses: 2,
      logits: (x) => {
        const right = calls++ % 3 === 2;
        return tf.tidy(() =>
          tf.add<tf.Tensor2D>(tf.mul(tf.sum(x), 0), tf.tensor2d([right ? [1, 0] : [0, 10], [0, 10]])),
        );
      },
      predict: (x) => tf.softmax(flaky.logits(x)),
      dispose: () => undefined,
    };
    const x = tf.zeros<tf.Rank.R4>([2, 1, 1, 1]);
    const ctx = (eot: number): BatchContext =>
      new BatchContext({
        classifier: flaky,
        x,
        labels,
        targets: null,
        eps: 0.1,
        norm: 'linf',
        rng: new Rng(0),
        eot,
      });
    const rows = Int32Array.from([0, 1]);
    const eot = ctx(3);
    const mean = eot.logits(x);
    // The mean says "class 1" for both rows, but one pass in three classified row 0 right.
    expect(Array.from(tf.tidy(() => tf.argMax(mean, 1).dataSync()))).toEqual([1, 1]);
    expect(Array.from(eot.isAdversarial(mean, rows))).toEqual([0, 1]);
    expect(eot.cost.queries).toBe(3 * 2);
    const oneDraw = ctx(1).logits(x);
    expect(Array.from(ctx(1).isAdversarial(oneDraw, rows))).toEqual([1, 1]);
    const labelsT = tf.tensor1d(labels, 'int32');
    const pass = eot.gradient(x, (z) => attackLoss('ce', z, labelsT, { targets: null }));
    expect(Array.from(eot.isAdversarial(pass.logits, rows))).toEqual([0, 1]);
    tf.dispose([mean, oneDraw, pass.logits, pass.loss, pass.grad, labelsT, x]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
