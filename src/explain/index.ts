/** Explanations (browser-safe): attribution methods through the Model interface, their sanity checks, feature visualization. */
export { explain, type Attribution, type ExplainOptions, type ExplainProgress } from './explain.js';
export { METHODS, getMethod } from './registry.js';
export { classIndex, resolveTargets, type AttributionTarget } from './targets.js';
export { activationsOf, camLayer, gradCam } from './grad-cam.js';
export { integratedGradients } from './integrated-gradients.js';
export { occlusion } from './occlusion.js';
export { gradientXInput, saliency } from './saliency.js';
export { smoothGrad, smoothGradSquared } from './smoothgrad.js';
export { gaussianBlur } from './gaussian-blur.js';
export {
  featureVisualizationSchema,
  visualizeFeatures,
  type FeatureTarget,
  type FeatureVisualization,
  type FeatureVisualizationOptions,
  type FeatureVisualizationParams,
  type VisualizationStep,
} from './feature-visualization.js';
export { QUADRATURE_RULES, quadrature, type Quadrature, type QuadratureRule } from './quadrature.js';
export {
  defineMethod,
  type AttributionContext,
  type AttributionMethod,
  type InputDetails,
  type MapKind,
  type MethodAccess,
  type MethodOutput,
  type TargetGradient,
} from './types.js';
export {
  deletionInsertion,
  type DeletionInsertionOptions,
  type FaithfulnessCurve,
  type FaithfulnessResult,
  type ReplacementImage,
} from './sanity/faithfulness.js';
export {
  RANDOMIZATION_THRESHOLD,
  WEIGHT_INDEPENDENCE_THRESHOLD,
  randomizationTest,
  type RandomizationMode,
  type RandomizationOptions,
  type RandomizationProgress,
  type RandomizationResult,
  type RandomizationStep,
} from './sanity/randomization.js';
export { averageRanks, spearman, spearmanAbs } from './sanity/rank-correlation.js';
export { checkMaps, pixelScores, type PixelReduction } from './sanity/pixel-scores.js';
export type { AttributionScores } from './sanity/scores.js';
