/** Sanity checks on a robustness evaluation: each returns a SanityFlag or null; runSanityChecks runs them all. */
export {
  runSanityChecks,
  DEFAULT_SANITY_LIMITS,
  type SanityCheckOptions,
  type SanityEvaluation,
  type SanityLimits,
  type SanityProgress,
} from './run-sanity-checks.js';
export { checkProbabilityOutputs } from './probability-outputs.js';
export { checkMaskedGradients } from './masked-gradients.js';
export { checkRandomizedModel } from './randomized-model.js';
export { checkNonMonotoneEps } from './non-monotone-eps.js';
export { checkLargeEps, boxDiameter } from './large-eps-not-zero.js';
export { checkBlackBoxBeatsWhiteBox, type SuiteAttackKind } from './black-box-beats-white-box.js';
export { checkNotConverged, DEFAULT_CONVERGENCE_BUDGET, type ConvergenceBudget } from './not-converged.js';
export type { ModelSample } from './model-sample.js';
export type { AttackCheckInput } from './attack-check-input.js';
