/** Node-only data loading: files, downloads, image decoding. Imported by src/node.ts and the CLI, never the core. */
export { loadCifar10, type Cifar10Options } from './cifar10.js';
export {
  downloadFile,
  type DownloadOptions,
  type DownloadProgress,
  type FetchLike,
  type RemoteFile,
} from './download.js';
export { readImageFile, writePng, type DecodedImage, type ReadImageOptions } from './image-file.js';
export { loadImageFolder, type ImageFolderOptions } from './image-folder.js';
export { DATASET_NAMES, loadDataset, type LoadDatasetOptions } from './load-dataset.js';
export { resolveDataDir, userCacheDir } from './locate.js';
export { loadMnist, type MnistOptions, type SourceOptions } from './mnist.js';
