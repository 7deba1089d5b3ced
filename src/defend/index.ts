/**
 * Defenses (browser-safe): randomized smoothing's prediction and certification, and the statistics they rest on;
 * input-transform defenses (JPEG, bit depth, median, blur, random resize-and-pad, total variation) as models;
 * detectors of adversarial inputs (feature squeezing, learned binary detectors) and the attack that knows them.
 */
export {
  ABSTAIN,
  certifiedAccuracy,
  certify,
  certifySchema,
  sampleCounts,
  smoothedPredict,
  smoothedPredictSchema,
  type Certification,
  type CertifyOptions,
  type SmoothedPrediction,
  type SmoothedPredictOptions,
  type SmoothingProgress,
} from './randomized-smoothing.js';
export {
  attackWithinRadius,
  GaussianNoiseModel,
  type RadiusCheckOptions,
  type RadiusCheckPoint,
} from './radius-check.js';
export {
  binomialTestPValue,
  clopperPearsonLower,
  inverseRegularizedIncompleteBeta,
  logGamma,
  normalCdf,
  normalInverseCdf,
  regularizedIncompleteBeta,
} from './statistics.js';
export { bitDepth } from './transforms/bit-depth.js';
export {
  DefendedModel,
  type DefendedModelOptions,
  type DefenseGradients,
} from './transforms/defended-model.js';
export { gaussianBlurTransform, MAX_BLUR_SIGMA } from './transforms/gaussian-blur.js';
export { jpeg } from './transforms/jpeg.js';
export { MAX_MEDIAN_SIZE, medianFilter } from './transforms/median-filter.js';
export {
  DEFENSE_TRANSFORMS,
  defenseSpec,
  NO_DEFENSE,
  parseDefense,
  type DefenseTransformEntry,
} from './transforms/parse-defense.js';
export { MAX_RESIZE_PAD_RATIO, randomResizePad } from './transforms/random-resize-pad.js';
export { MAX_TV_WEIGHT, totalVariation, TV_DROPOUT, TV_ITERATIONS } from './transforms/total-variation.js';
export { bpdaIdentity, zeroGradient, type Transform, type TransformContext } from './transforms/transform.js';
export * from './detectors/index.js';
