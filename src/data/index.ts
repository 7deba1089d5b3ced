/** Browser-safe data utilities: the dataset type, parsers on bytes, batching and subsets. */
export { batchIndices, type BatchOptions } from './batching.js';
export { parseCifarBatch } from './cifar.js';
export { CIFAR10_CLASSES, FASHION_MNIST_CLASSES, MNIST_CLASSES } from './class-names.js';
export { take, toTensors, type DatasetSample, type ImageDataset } from './dataset.js';
export { pixelsToInputs } from './pixels-to-inputs.js';
export { idxDataset, parseIdxImages, parseIdxLabels } from './idx.js';
export { assertSampleHolds } from './sample-guard.js';
export { subset, type SubsetOptions } from './subset.js';
export { readTar, type TarEntry } from './tar.js';
export { decodeNpy, encodeNpy } from './npy.js';
