/** Attacks: one entry point (runAttack), the attack definitions and their building blocks. */
export {
  runAttack,
  type AttackProgress,
  type AttackResult,
  type AttackRun,
  type RunAttackOptions,
} from './run-attack.js';
export {
  NORMS,
  defineAttack,
  type Attack,
  type AttackContext,
  type BudgetKind,
  type Cost,
  type Goal,
  type Norm,
} from './types.js';
export { ATTACKS, getAttack } from './registry.js';
export { attackLoss, LOSS_NAMES, type LossName } from './losses.js';
export { iterativeAttack, type IterativeSettings } from './iterative.js';
export { distances, project, type Distances } from './norms.js';
export { fgsm } from './fgsm.js';
export { bim } from './bim.js';
export { pgd } from './pgd.js';
export { mifgsm } from './mifgsm.js';
export { apgd } from './apgd.js';
export { apgdT } from './apgd-targeted.js';
export { fab } from './fab.js';
export { fabT } from './fab-targeted.js';
export { cw } from './cw.js';
export { deepfool } from './deepfool.js';
export { square } from './square.js';
export { hopSkipJump } from './hop-skip-jump.js';
export {
  transferAttack,
  type TransferAttackOptions,
  type TransferReport,
  type TransferResult,
} from './transfer.js';
export * from './patch/index.js';
