import * as tf from '@tensorflow/tfjs-core';
import { take, type ImageDataset } from '../data/dataset.js';
import { loadDataset } from '../data/node/load-dataset.js';
import { readImageFile } from '../data/node/image-file.js';
import { subset } from '../data/subset.js';
import { pixelsToInputs } from '../data/pixels-to-inputs.js';
import { assertSampleHolds } from '../data/sample-guard.js';
import { invalidArgument } from '../errors.js';
import type { Classifier } from '../models/classifier.js';
import { assertDataFitsClassifier } from '../train/evaluate.js';
import { Rng } from '../util/rng.js';

/** Where a task's data comes from, as its spec says. */
export interface DataRequest {
  /** Dataset name or image folder; default: the one the model was trained on (MNIST when it does not say). */
  data?: string;
  split: 'train' | 'test';
  dataDir?: string;
  labelMap?: string;
  n: number;
  /** Draw the sample at random with this seed; default: the first n. */
  seed?: number;
}

/** What outputs say about the data: its name, split, and whether it is the bundled sample. */
export interface DataInfo {
  name: string;
  split: string;
  /** Images used. */
  n: number;
  /** Set when the data is the sample bundled with advkit rather than the full files. */
  sample?: { count: number; fullCount: number; description: string };
  notes: string[];
}

export interface ModelSample {
  /** The images in the model's input space; the caller disposes it. */
  x: tf.Tensor4D;
  labels: Int32Array;
  /** Positions of the images in the split (within the model's classes when it has fewer). */
  indices: Int32Array;
  /** 'mnist/test#17' per image. */
  sources: string[];
  info: DataInfo;
}

/**
 * A sample of a dataset for `model`: image folders decoded at its input size (the built-in datasets have their
 * own), narrowed to its classes, checked against it, the first n or a seeded random n. Asking for more images
 * than the data holds takes them all and says so in a note; asking for more than the bundled sample holds is an
 * error that says how to get the full files.
 */
export async function loadModelSample(model: Classifier, req: DataRequest): Promise<ModelSample> {
  const [height, width, channels] = model.inputShape;
  const name = req.data ?? model.metadata.dataset ?? 'mnist';
  const ds = await loadDataset(name, {
    split: req.split,
    dir: req.dataDir,
    imageSize: [height, width],
    channels: channels === 1 ? 1 : 3,
    ...(req.labelMap !== undefined ? { labelMap: req.labelMap } : {}),
  });
  const narrowed = toModelClasses(ds, model.classNames);
  assertDataFitsClassifier(model, narrowed);
  const notes = [...(narrowed.notes ?? [])];
  const sample = sampleInfo(narrowed);
  assertSampleHolds(narrowed, req.n, `--n ${req.n}`);
  if (req.n > narrowed.count) {
    notes.push(
      `asked for ${req.n} images; ${name}/${req.split} holds ${narrowed.count}, so all ${narrowed.count} are used`,
    );
  }
  const n = Math.min(req.n, narrowed.count);
  const indices =
    req.seed === undefined
      ? Int32Array.from({ length: n }, (_, i) => i)
      : new Rng(req.seed).permutation(narrowed.count).slice(0, n);
  const picked = take(narrowed, indices);
  const x = pixelsToInputs(picked.pixels, [n, picked.height, picked.width, picked.channels], model.bounds);
  return {
    x,
    labels: modelLabels(picked, model.classNames),
    indices,
    sources: Array.from(indices, (i) => `${narrowed.name}/${narrowed.split}#${i}`),
    info: { name, split: narrowed.split, n, ...(sample !== undefined ? { sample } : {}), notes },
  };
}

function sampleInfo(ds: ImageDataset): DataInfo['sample'] {
  if (ds.sample === undefined) return undefined;
  const { count, fullCount, description } = ds.sample;
  return { count, fullCount, description };
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

/**
 * The dataset's labels as the model's class indices. Usually the same classes in the same order; an image
 * folder labelled in another order (Keras ImageNet ids for a Darknet-order model) is matched by class name.
 */
function modelLabels(ds: ImageDataset, classNames: readonly string[]): Int32Array {
  if (ds.classNames.every((name, i) => classNames[i] === name)) return Int32Array.from(ds.labels);
  const index = new Map<string, number>();
  classNames.forEach((name, i) => {
    if (!index.has(name)) index.set(name, i);
  });
  return ds.labels.map((label) => {
    const name = ds.classNames[label];
    const i = index.get(name);
    if (i === undefined) {
      throw invalidArgument(
        `Dataset '${ds.name}' has class '${name}' (label ${label}), which is not a class of the model; ` +
          'give --labels or --label-map so that the names agree.',
      );
    }
    return i;
  });
}

/** Image files decoded at the model's input size, in its input space; the caller disposes x. */
export async function loadImageInputs(model: Classifier, files: readonly string[]): Promise<tf.Tensor4D> {
  const [height, width, channels] = model.inputShape;
  const size = height * width * channels;
  const pixels = new Uint8Array(files.length * size);
  for (let i = 0; i < files.length; i++) {
    const img = await readImageFile(files[i], { size: [height, width], channels: channels === 1 ? 1 : 3 });
    pixels.set(img.pixels, i * size);
  }
  return pixelsToInputs(pixels, [files.length, height, width, channels], model.bounds);
}

/**
 * Raw inputs (a spec's `inputs`: nested numbers [n, height, width, channels]) as a tensor, after checking that
 * they are what the model takes: its input shape, finite numbers, within its bounds. A program that sends them
 * has already preprocessed its images, so nothing is resized or rescaled; the message says what was expected.
 */
export function rawInputs(model: Classifier, inputs: unknown): tf.Tensor4D {
  const [height, width, channels] = model.inputShape;
  const [lo, hi] = model.bounds;
  const expected = `[n, ${height}, ${width}, ${channels}] (the model's input shape) with values in [${lo}, ${hi}]`;
  const bad = (where: string, what: string) =>
    invalidArgument(`inputs${where} ${what}; expected ${expected}.`, { option: 'inputs' });
  if (!Array.isArray(inputs) || inputs.length === 0) throw bad('', 'must be a non-empty list of inputs');
  const size = height * width * channels;
  const values = new Float32Array(inputs.length * size);
  let k = 0;
  inputs.forEach((image: unknown, i) => {
    if (!Array.isArray(image) || image.length !== height) {
      throw bad(`[${i}]`, `has ${Array.isArray(image) ? image.length : 'no'} rows, not ${height}`);
    }
    image.forEach((row: unknown, y) => {
      if (!Array.isArray(row) || row.length !== width) {
        throw bad(`[${i}][${y}]`, `has ${Array.isArray(row) ? row.length : 'no'} columns, not ${width}`);
      }
      row.forEach((pixel: unknown, x) => {
        if (!Array.isArray(pixel) || pixel.length !== channels) {
          throw bad(
            `[${i}][${y}][${x}]`,
            `has ${Array.isArray(pixel) ? pixel.length : 'no'} channels, not ${channels}`,
          );
        }
        pixel.forEach((v: unknown, c) => {
          if (typeof v !== 'number' || !Number.isFinite(v)) {
            throw bad(
              `[${i}][${y}][${x}][${c}]`,
              `is ${typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v))}, not a finite number`,
            );
          }
          if (v < lo || v > hi) throw bad(`[${i}][${y}][${x}][${c}]`, `is ${v}, outside the bounds`);
          values[k++] = v;
        });
      });
    });
  });
  return tf.tensor4d(values, [inputs.length, height, width, channels], 'float32');
}

/** Where a task's given inputs come from: image files, or raw inputs (`inputs`); never both. */
export interface GivenInputs {
  images?: readonly string[];
  inputs?: unknown;
}

/** 'inputs#0', 'inputs#1', ...: how raw inputs are named in results (they have no file name). */
export function rawInputSources(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `inputs#${i}`);
}

/**
 * The inputs a spec gives directly (image files or raw inputs) in the model's input space, with a name per
 * input; undefined when it gives neither (a dataset sample then). The caller disposes x.
 */
export async function loadGivenInputs(
  model: Classifier,
  given: GivenInputs,
): Promise<{ x: tf.Tensor4D; sources: string[] } | undefined> {
  if (given.images !== undefined && given.inputs !== undefined) {
    throw invalidArgument('Give either image files or raw inputs, not both.', { option: 'inputs' });
  }
  if (given.inputs !== undefined) {
    const x = rawInputs(model, given.inputs);
    return { x, sources: rawInputSources(x.shape[0]) };
  }
  if (given.images !== undefined) {
    return { x: await loadImageInputs(model, given.images), sources: [...given.images] };
  }
  return undefined;
}
