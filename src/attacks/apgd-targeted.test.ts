import { describe, expect, it } from 'vitest';
import { apgdT, rankOtherClasses } from './apgd-targeted.js';
import { describeAttackContract } from './test-utils/contract.js';

describeAttackContract(apgdT, [
  { norm: 'linf', eps: 0.2, params: { steps: 10, targetClasses: 2 }, badParams: { targetClasses: 0 } },
  { norm: 'l2', eps: 2, params: { steps: 10, targetClasses: 2 }, badParams: { momentum: 0 } },
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
