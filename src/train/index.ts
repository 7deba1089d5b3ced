// Browser-safe training API. The Node checkpoint store is in ./node/file-checkpoint-store.ts.
export {
  ADVERSARIAL_METHODS,
  ADVERSARIAL_METHOD_NORMS,
  ADVERSARIAL_METHOD_OPTIONS,
  maxEps,
  resolveAdversarialOptions,
  type AdversarialMethod,
  type AdversarialNorm,
  type AdversarialOptions,
  type GuardOptions,
  type ResolvedAdversarialOptions,
  type ResolvedGuardOptions,
} from './adversarial/options.js';
export { epsAt, epsWarmupSteps } from './adversarial/eps-schedule.js';
export { CollapseGuard, COLLAPSE_FRACTION, type GuardReport, type GuardState } from './adversarial/guard.js';
export { AUGMENT_NAMES, randomCropFlip, type AugmentName, type CropFlipOptions } from './augment.js';
export {
  crc32,
  decodeCheckpoint,
  encodeCheckpoint,
  MemoryCheckpointStore,
  type CheckpointStore,
  type DataFingerprint,
  type EpochMetrics,
  type EpochTotals,
  type TrainingCheckpoint,
} from './checkpoint.js';
export { assertDataFitsClassifier, evaluateAccuracy } from './evaluate.js';
export { crossEntropyFromLogits } from './loss.js';
export {
  AdamOptimizer,
  createOptimizer,
  OPTIMIZER_NAMES,
  SgdOptimizer,
  type AdamOptions,
  type Optimizer,
  type OptimizerConfig,
  type OptimizerName,
  type OptimizerState,
  type SgdOptions,
  type WeightDecayMode,
} from '../optim/optimizers.js';
export { resolveTrainOptions, type ResolvedTrainOptions, type TrainOptions } from './options.js';
export {
  learningRateAt,
  SCHEDULE_NAMES,
  validateSchedule,
  type ScheduleConfig,
  type ScheduleName,
} from './schedules.js';
export {
  train,
  type AdversarialProgress,
  type TrainHooks,
  type TrainProgress,
  type TrainResult,
} from './train.js';
export { trainingMetadata } from './training-metadata.js';
export { MemoryChunkStore, type ChunkStore } from './chunk-store.js';
export {
  relabelAdversarially,
  relabelTargets,
  RELABEL_RULES,
  type RelabelHooks,
  type RelabelledDataset,
  type RelabelOptions,
  type RelabelProgress,
  type RelabelRule,
  type RelabelStats,
} from './non-robust-dataset.js';
