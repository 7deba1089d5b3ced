import { describeAttackContract } from './test-utils/contract.js';
import { pgd } from './pgd.js';

describeAttackContract(pgd, [
  { norm: 'linf', eps: 0.2, params: { steps: 10 }, badParams: { steps: 0 } },
  { norm: 'l2', eps: 2, params: { steps: 10, relStepSize: 0.25 }, badParams: { relStepSize: -1 } },
  { norm: 'l1', eps: 15, params: { steps: 10, relStepSize: 0.25 }, badParams: { l1Sparsity: 2 } },
]);
