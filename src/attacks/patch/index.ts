/** Adversarial patches (Brown et al. 2017): train a universal targeted patch, paste it, measure it on held-out images. */
export { applyPatch, type ApplyPatchOptions } from './apply-patch.js';
export { evaluatePatch, type EvaluatePatchOptions, type PatchEvaluation } from './evaluate-patch.js';
export { PATCH_TRAINING_DEFAULTS, type PatchTrainingOptions } from './patch-options.js';
export { PATCH_SHAPES, type PatchShape, type PlacementOptions, type ValueOrRange } from './placement.js';
export {
  trainPatch,
  type PatchProgress,
  type PatchStep,
  type TrainedPatch,
  type TrainPatchOptions,
} from './train-patch.js';
