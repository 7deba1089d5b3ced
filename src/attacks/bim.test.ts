import { bim } from './bim.js';
import { describeAttackContract } from './test-utils/contract.js';

describeAttackContract(bim, [
  { norm: 'linf', eps: 0.2, params: { steps: 5 }, badParams: { steps: -1 } },
  { norm: 'l2', eps: 2, params: { steps: 5 }, badParams: { randomStart: 1 } },
]);
