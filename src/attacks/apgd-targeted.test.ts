import { describe, expect, it } from 'vitest';
import { apgdT, rankOtherClasses } from './apgd-targeted.js';
import { runAttack } from './run-attack.js';
import { describeAttackContract } from './test-utils/contract.js';
import { loadMnistFixture } from './test-utils/mnist-fixture.js';

describeAttackContract(apgdT, [
  { norm: 'linf', eps: 0.2, params: { steps: 10, targetClasses: 2 }, badParams: { targetClasses: 0 } },
  { norm: 'l2', eps: 2, params: { steps: 10, targetClasses: 2 }, badParams: { momentum: 0 } },
  { norm: 'l1', eps: 15, params: { steps: 10, targetClasses: 1 }, badParams: { steps: 1.5 } },
]);

describe('apgd-t: target classes', () => {
  it('ranks the classes other than the label by decreasing clean logit', () => {
    const logits = [
      [0.1, 3, -2, 5],
      [4, 4, 1, 0],
    ];
    expect(rankOtherClasses(logits, Int32Array.from([1, 3]))).toEqual([
      [3, 0, 2],
      [0, 1, 2],
    ]);
  });
});

describe('apgd-t: strength', () => {
  it('leaves the standard MNIST model no accuracy at Linf 0.3 (first 50 test images)', async () => {
    const f = await loadMnistFixture(50);
    const run = await runAttack(f.classifier, apgdT, {
      x: f.x,
      labels: f.labels,
      eps: 0.3,
      keepAdversarial: false,
    });
    expect(run.cleanAccuracy).toBeGreaterThan(0.9);
    expect(run.results[0].accuracy).toBe(0);
    f.dispose();
  });
});
