/** Robustness evaluation: the AutoAttack protocol, its sanity checks, the JSON report, and model comparisons. */
export {
  evaluateRobustness,
  type EpsEvaluation,
  type EvaluateOptions,
  type EvaluationProgress,
  type GalleryAdversarial,
  type RobustnessEvaluation,
} from './evaluate-robustness.js';
export {
  MemoryStateStore,
  type ChunkRecord,
  type EvaluationState,
  type EvaluationStateStore,
} from './evaluation-state.js';
export { resolveSuite, SUITE_ATTACKS, SUITE_NAMES, type Suite, type SuiteEntry } from './suites.js';
export { buildReport, perClass, suiteRecord, type ReportContext } from './build-report.js';
export { datasetSha256, modelSha256 } from './fingerprint.js';
export * from './report-types.js';
export * from './sanity/index.js';
export * from './compare.js';
