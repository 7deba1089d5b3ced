import path from 'node:path';
import { FASHION_MNIST_CLASSES, MNIST_CLASSES } from '../class-names.js';
import type { ImageDataset } from '../dataset.js';
import { idxDataset } from '../idx.js';
import { bundledSample, describeSample, sampleNote } from './bundled-samples.js';
import { downloadFile, type DownloadOptions } from './download.js';
import { findFile } from './locate.js';
import { locateDataset } from './locate-dataset.js';
import { readDataFile } from './read-data-file.js';
import { mnistFileName, mnistRemote, type MnistFileKey, type MnistVariant } from './sources.js';

/** Where to look for files and whether to download them. */
export interface SourceOptions extends DownloadOptions {
  /** A directory holding the files (or a root holding the dataset's folder); searched before ADVKIT_DATA. */
  dir?: string;
  /**
   * Download missing files into the user cache (default true unless ADVKIT_OFFLINE=1). When the files are found
   * nowhere, the test splits of mnist and cifar10 come from the sample bundled with advkit before any download is
   * tried, unless this is explicitly true.
   */
  download?: boolean;
}

export interface MnistOptions extends SourceOptions {
  variant?: MnistVariant;
  split: 'train' | 'test';
}

/** Published names, and the 'train-images.idx3-ubyte' spelling some mirrors use. */
function acceptedNames(key: MnistFileKey): string[] {
  const name = mnistFileName(key);
  return [name, name.replace(/-(idx\d)/, '.$1')];
}

/**
 * MNIST or Fashion-MNIST (IDX files, gzipped or raw): 28x28x1, labels 0..9. With no MNIST test files anywhere, the
 * bundled sample (the first 1,000 test images) is returned, with `sample` and a note saying so.
 */
export async function loadMnist(opts: MnistOptions): Promise<ImageDataset> {
  const variant = opts.variant ?? 'mnist';
  const prefix = opts.split === 'train' ? 'train' : 't10k';
  const keys: MnistFileKey[] = [`${prefix}-images`, `${prefix}-labels`];
  const sampled = variant === 'mnist' && opts.split === 'test';
  const located = await locateDataset({
    title: `${variant === 'mnist' ? 'MNIST' : 'Fashion-MNIST'} ${opts.split} split`,
    dirName: variant,
    layouts: [{ files: keys.map(acceptedNames) }],
    dir: opts.dir,
    download: opts.download,
    sample: sampled ? bundledSample('mnist') : undefined,
    hint:
      variant === 'mnist' && opts.split === 'train'
        ? 'advkit bundles a sample of the MNIST test split only; the train split needs the full files.'
        : undefined,
    urls: keys.map((k) => mnistRemote(variant, k).url),
    fetchInto: async (datasetDir) => {
      for (const key of keys) {
        if (findFile(datasetDir, acceptedNames(key)) !== undefined) continue;
        await downloadFile(
          mnistRemote(variant, key),
          path.join(datasetDir, `${mnistFileName(key)}.gz`),
          opts,
        );
      }
    },
  });
  const [imagesFile, labelsFile] = located.files;
  const [images, labels] = await Promise.all([readDataFile(imagesFile), readDataFile(labelsFile)]);
  const ds = idxDataset({
    name: variant,
    split: opts.split,
    classNames: [...(variant === 'mnist' ? MNIST_CLASSES : FASHION_MNIST_CLASSES)],
    images,
    imagesFile,
    labels,
    labelsFile,
  });
  if (located.sample === undefined) return ds;
  const sample = describeSample(located.sample.source, ds.count, located.sample.provide);
  return { ...ds, sample, notes: [sampleNote(sample)] };
}
