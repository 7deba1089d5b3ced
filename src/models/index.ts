/** Browser-safe models API: the Classifier wrapper, architectures, metadata, labels and URL loading. */
export { Classifier, type ClassifierNet, type ClassifierOptions } from './classifier.js';
export type { Model } from './model.js';
export {
  graphNodesOf,
  type ActivationLayer,
  type ActivationTap,
  type GraphNodeInfo,
  type ModelActivations,
} from './layer-access.js';
export {
  CountedModel,
  disposePass,
  type CountedModelOptions,
  type Cost,
  type GradientPass,
  type LogitsLoss,
} from './counted-model.js';
export {
  ARCHITECTURES,
  buildArchitecture,
  isArchitectureName,
  type ArchitectureName,
  type ArchitectureOptions,
} from './architectures/index.js';
export {
  createClassifier,
  wrapLayersModel,
  type CreateClassifierOptions,
  type WrapModelOptions,
} from './create-classifier.js';
export { classifierFromArtifacts, isGraphModelArtifacts, type ClassifierSource } from './from-artifacts.js';
export {
  ADVKIT_MODEL_FORMAT,
  METADATA_FILE,
  parseMetadata,
  type ClassifierMetadata,
} from './metadata.js';
export {
  applyPreprocessing,
  parsePreprocessing,
  validatePreprocessing,
  type Preprocessing,
} from './preprocessing.js';
export { isWordNetId, nameWordNetIds, parseClassIndex, parseLabels } from './labels.js';
export { stripLayersSoftmax, findGraphSoftmax } from './softmax.js';
export { loadClassifierFromUrl, type LoadFromUrlOptions } from './load-url.js';
export { RandomizableCopy, type WeightLayer } from './randomize-layers.js';
