import { existsSync, statSync } from 'node:fs';
import { invalidArgument } from '../../errors.js';
import type { ImageDataset } from '../dataset.js';
import { loadCifar10 } from './cifar10.js';
import { loadImageFolder } from './image-folder.js';
import { loadMnist, type SourceOptions } from './mnist.js';

export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'cifar10'] as const;

export interface LoadDatasetOptions extends SourceOptions {
  /** Default 'test'. Ignored for image folders. */
  split?: 'train' | 'test';
  /** Image folders only: [height, width] to resize to. */
  imageSize?: [number, number];
  /** Image folders only: 1 or 3 channels. */
  channels?: 1 | 3;
  /** Image folders only: a label map file. */
  labelMap?: string;
}

/** A built-in dataset by name ('mnist', 'fashion-mnist', 'cifar10'), or an image folder by path. */
export async function loadDataset(name: string, opts: LoadDatasetOptions = {}): Promise<ImageDataset> {
  const split = opts.split ?? 'test';
  if (split !== 'train' && split !== 'test') {
    throw invalidArgument(`Unknown split '${String(split)}'; expected 'train' or 'test'.`);
  }
  switch (name.toLowerCase()) {
    case 'mnist':
      return loadMnist({ ...opts, variant: 'mnist', split });
    case 'fashion-mnist':
      return loadMnist({ ...opts, variant: 'fashion-mnist', split });
    case 'cifar10':
    case 'cifar-10':
      return loadCifar10({ ...opts, split });
  }
  if (existsSync(name) && statSync(name).isDirectory()) {
    return loadImageFolder(name, { size: opts.imageSize, channels: opts.channels, labelMap: opts.labelMap });
  }
  throw invalidArgument(
    `Unknown dataset '${name}': expected one of ${DATASET_NAMES.join(', ')} or the path of an image folder.`,
  );
}
