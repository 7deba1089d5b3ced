import { mifgsm } from './mifgsm.js';
import { describeAttackContract } from './test-utils/contract.js';

describeAttackContract(mifgsm, [
  { norm: 'linf', eps: 0.2, params: { steps: 5 }, badParams: { decay: 0 } },
  { norm: 'l2', eps: 2, params: { steps: 5 }, badParams: { decay: -1 } },
]);
