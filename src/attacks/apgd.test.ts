import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClassifier } from '../models/node/load-classifier.js';
import { bundledModelDir } from '../models/node/package-root.js';
import type { Classifier } from '../models/classifier.js';
import { apgd } from './apgd.js';
import { pgd } from './pgd.js';
import { runAttack } from './run-attack.js';
import { describeAttackContract } from './test-utils/contract.js';
import { linearBoundary } from './test-utils/linear-boundary.js';
import { loadMnistFixture, type MnistFixture } from './test-utils/mnist-fixture.js';

describeAttackContract(apgd, [
  { norm: 'linf', eps: 0.2, params: { steps: 10 }, badParams: { steps: 0 } },
  { norm: 'l2', eps: 2, params: { steps: 10, loss: 'dlr', restarts: 2 }, badParams: { rho: 2 } },
  { norm: 'l1', eps: 15, params: { steps: 10 }, badParams: { loss: 'cw' } },
]);

describe('apgd: the closed-form linear boundary', () => {
  it.each([
    ['linf', 0.05],
    ['l2', 0.5],
  ] as const)('%s: fools exactly the inputs closer to the boundary than eps', async (norm, eps) => {
    const bed = await linearBoundary({
      inputShape: [4, 4, 1],
      distances: [0.5, 0.9, 1.1, 2].map((d) => d * eps),
      norm,
      seed: 3,
    });
    const run = await runAttack(bed.classifier, apgd, {
      x: bed.x,
      labels: bed.labels,
      eps,
      norm,
      params: { steps: 20 },
    });
    expect(Array.from(run.results[0].success)).toEqual([1, 1, 0, 0]);
    run.dispose();
    bed.dispose();
  });
});

describe('apgd: strength on the adversarially trained MNIST model', () => {
  let f: MnistFixture;
  let robust: Classifier;
  beforeAll(async () => {
    // 50 images keep the test near 20 s on 2 cores.
    f = await loadMnistFixture(50);
    robust = await loadClassifier(bundledModelDir('mnist-cnn-robust'));
  });
  afterAll(() => {
    f.dispose();
    robust.dispose();
  });

  it('APGD-CE with the budget of PGD-100 (100 steps, 1 restart) leaves no more accuracy at Linf 0.3', async () => {
    const options = { x: f.x, labels: f.labels, eps: 0.3, keepAdversarial: false, seed: 0 };
    const byApgd = await runAttack(robust, apgd, { ...options, params: { steps: 100, loss: 'ce' } });
    const byPgd = await runAttack(robust, pgd, { ...options, params: { steps: 100 } });
    const a = byApgd.results[0];
    const p = byPgd.results[0];
    expect(a.accuracy).toBeLessThanOrEqual(p.accuracy);
    // The same budget: at most one gradient per step and example (fewer once an example is adversarial).
    expect(a.cost.gradients).toBeLessThanOrEqual(50 * 100);
  });
});
