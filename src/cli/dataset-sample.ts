import { take, type ImageDataset } from '../data/dataset.js';
import { subset } from '../data/subset.js';
import { loadDataset } from '../data/node/load-dataset.js';
import type { Classifier } from '../models/classifier.js';
import { assertDataFitsClassifier } from '../train/evaluate.js';
import { Rng } from '../util/rng.js';

export interface SampleOptions {
  /** Dataset name or image folder; default: the one the model was trained on (MNIST when it does not say). */
  data?: string;
  split: 'train' | 'test';
  dataDir?: string;
  labelMap?: string;
  n: number;
  /** Draw the sample at random with this seed; default: the first n. */
  seed?: number;
}

/**
 * The sample of a dataset that `predict` and `attack` work on: image folders decoded at the model's input size
 * (the built-in datasets have their own), checked against the model, the first n or a seeded random n;
 * `indices` are the sample's positions in the split (within the model's classes when it has fewer).
 */
export async function loadModelSample(
  classifier: Classifier,
  opts: SampleOptions,
): Promise<{ sample: ImageDataset; indices: Int32Array }> {
  const [height, width, channels] = classifier.inputShape;
  const ds = await loadDataset(opts.data ?? classifier.metadata.dataset ?? 'mnist', {
    split: opts.split,
    dir: opts.dataDir,
    imageSize: [height, width],
    channels: channels === 1 ? 1 : 3,
    ...(opts.labelMap !== undefined ? { labelMap: opts.labelMap } : {}),
  });
  const narrowed = toModelClasses(ds, classifier.classNames);
  assertDataFitsClassifier(classifier, narrowed);
  const n = Math.min(opts.n, narrowed.count);
  const indices =
    opts.seed === undefined
      ? Int32Array.from({ length: n }, (_, i) => i)
      : new Rng(opts.seed).permutation(narrowed.count).slice(0, n);
  return { sample: take(narrowed, indices), indices };
}

/**
 * A model trained on some of a dataset's classes (e.g. CIFAR-10 airplane vs cat) gets the images of those
 * classes, labelled in the model's order; other datasets are returned as they are.
 */
function toModelClasses(ds: ImageDataset, classNames: readonly string[]): ImageDataset {
  const same =
    ds.classNames.length === classNames.length && ds.classNames.every((c, i) => c === classNames[i]);
  const within = classNames.every((c) => ds.classNames.includes(c));
  return same || !within || classNames.length >= ds.classNames.length
    ? ds
    : subset(ds, { classes: [...classNames], relabel: true });
}
