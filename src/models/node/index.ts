/** Node-only model IO: loading and saving classifiers on disk, labels files, bundled models. */
export { loadClassifier, type LoadClassifierOptions } from './load-classifier.js';
export { assertCanSaveClassifier, saveClassifier, WEIGHTS_FILE } from './save-classifier.js';
export { bundledModelDir, type BundledModelName } from './package-root.js';
export { packageRoot } from '../../util/node/package-root.js';
export { readLabelsFile, findLabelsFile, CLASS_INDEX_FILE, type ReadLabelsOptions } from './labels-file.js';
export { readModelArtifacts, locateModel, type ModelLocation } from './model-files.js';
