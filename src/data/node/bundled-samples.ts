import path from 'node:path';
import { packageRoot } from '../../util/node/package-root.js';
import type { DatasetSample } from '../dataset.js';
import type { Layout } from './locate.js';

/** The datasets whose test split advkit ships a sample of (built by scripts/build-samples.mjs). */
export type SampledDataset = 'mnist' | 'cifar10';

/** Where a bundled sample lies and how its files are named; the loaders parse it like the full files. */
export interface BundledSample {
  /** <package root>/samples/<dataset>. */
  dir: string;
  layout: Layout;
  /** Images in the full test split the sample is cut from. */
  fullCount: number;
  /** For messages, e.g. 'MNIST'. */
  title: string;
}

const SAMPLE_FILES: Record<SampledDataset, Layout> = {
  mnist: {
    files: [['t10k-images-idx3-ubyte.first1000'], ['t10k-labels-idx1-ubyte.first1000']],
    partial: true,
  },
  cifar10: { files: [['test_batch.first200.bin']], partial: true },
};

const TITLES: Record<SampledDataset, string> = { mnist: 'MNIST', cifar10: 'CIFAR-10' };

/** Both test splits hold 10,000 images. */
const TEST_COUNT = 10_000;

/** The bundled sample of a dataset's test split (its files may be missing if the package was trimmed). */
export function bundledSample(dataset: SampledDataset): BundledSample {
  return {
    dir: path.join(packageRoot(), 'samples', dataset),
    layout: SAMPLE_FILES[dataset],
    fullCount: TEST_COUNT,
    title: TITLES[dataset],
  };
}

/**
 * What an ImageDataset loaded from a sample of `count` images says about itself; `provide` tells how to get the
 * full files (the same advice as the not-found message).
 */
export function describeSample(sample: BundledSample, count: number, provide: string): DatasetSample {
  const n = (v: number): string => v.toLocaleString('en-US');
  const description = `the first ${n(count)} of the ${n(sample.fullCount)} ${sample.title} test images`;
  return { count, fullCount: sample.fullCount, description, provide };
}

/** The `notes` line of a dataset loaded from a sample. */
export function sampleNote(sample: DatasetSample): string {
  return `bundled sample: ${sample.description} (set ADVKIT_DATA or --data-dir for the full set)`;
}
