import * as tf from '@tensorflow/tfjs-core';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  evaluatePatch,
  trainPatch,
  type PatchEvaluation,
  type PatchProgress,
  type PatchShape,
} from '../attacks/patch/index.js';
import type { ResolvedPatchTraining } from '../attacks/patch/patch-options.js';
import { AdvkitError, invalidArgument } from '../errors.js';
import type { Classifier } from '../models/classifier.js';
import { patchPng } from '../render/node/patch-png.js';
import { resolveTarget } from './attack-target.js';
import { loadImageInputs, loadModelSample } from './model-data.js';
import { openModel } from './model-source.js';
import { PATCH_DEFAULT_MODEL, patchSchema } from './patch-spec.js';
import { parseSpec } from './spec.js';
import type { Task, TaskContext, TaskResult } from './task.js';
import { engineName } from '../backend/backend.js';

export interface PatchResult extends TaskResult {
  task: 'patch';
  /** The model's directory. */
  model: string;
  backend: string;
  /** Where the images came from: the photo folder, or the dataset with the rows used. */
  data: string;
  /** What decides success: the dataset's labels, or the model's clean predictions for unlabelled photos. */
  labels: 'dataset' | 'clean predictions';
  target: { index: number; name: string };
  /** The patch's side in pixels, as a fraction of the image side, and its outline. */
  patch: { pixels: number; size: number; shape: PatchShape };
  /** The training options used, in the model's input units. */
  options: ResolvedPatchTraining;
  seconds: number;
  /** Image gradients spent on training. */
  gradients: number;
  train: PatchEvaluation;
  heldOut: PatchEvaluation;
  /** Uniform noise of the same size and outline, on the held-out images: what no training achieves. */
  randomPatch: PatchEvaluation;
  notes: string[];
}

export type PatchTaskProgress =
  | {
      stage: 'start';
      shape: PatchShape;
      target: { index: number; name: string };
      /** Training images. */
      images: number;
      source: string;
      steps: number;
    }
  | ({ stage: 'train' } & PatchProgress);

/** Images to train on and held-out images to measure on, with the labels that decide what counts as success. */
interface PatchData {
  source: string;
  train: tf.Tensor4D;
  trainLabels: Int32Array;
  heldOut: tf.Tensor4D;
  heldOutLabels: Int32Array;
  labelSource: PatchResult['labels'];
  notes: string[];
}

const IMAGE_FILE = /\.(png|jpe?g|webp|gif|tiff?|avif)$/i;

/**
 * Trains a universal targeted patch (Brown et al. 2017) in the model's input space and measures it on held-out
 * images, next to a random patch of the same size; the patch is the artifact 'patch.png'. The learning rate is
 * a fraction of the input range, so one rate means the same steps for [0, 1], [-1, 1] and [0, 255] models.
 */
export const patchTask: Task<typeof patchSchema, PatchResult, PatchTaskProgress> = {
  name: 'patch',
  title: 'Train a universal targeted adversarial patch and measure it on held-out images',
  schema: patchSchema,
  async run(input, ctx: TaskContext<PatchTaskProgress> = {}) {
    if (input.target === undefined) {
      throw invalidArgument(
        "patch: 'target' is required: the class the patch should make the model predict (a name or index).",
        { option: 'target' },
      );
    }
    const spec = parseSpec(patchSchema, input, 'patch');
    if (spec.images !== undefined && spec.data !== undefined) {
      throw invalidArgument("Give either 'images' or 'data', not both.", { option: 'images' });
    }
    if (spec.scaleMin > spec.scaleMax) {
      throw invalidArgument(`'scaleMin' (${spec.scaleMin}) must not exceed 'scaleMax' (${spec.scaleMax}).`, {
        option: 'scaleMin',
      });
    }
    const source = await openModel(spec.model, { defaultName: PATCH_DEFAULT_MODEL, labels: spec.labels });
    const model = source.model;
    let data: PatchData | undefined;
    try {
      const target = fixedTarget(spec.target, model.classNames);
      const targetInfo = { index: target, name: model.classNames[target] };
      data =
        spec.images !== undefined
          ? await photoData(model, spec.images)
          : await datasetData(model, { data: spec.data, dataDir: spec.dataDir, n: spec.n });
      for (const note of data.notes) ctx.onNote?.(note);
      ctx.onProgress?.({
        stage: 'start',
        shape: spec.shape,
        target: targetInfo,
        images: data.train.shape[0],
        source: data.source,
        steps: spec.steps,
      });
      const [lo, hi] = model.bounds;
      const trained = await trainPatch(model, data.train, {
        target,
        size: spec.size,
        shape: spec.shape,
        steps: spec.steps,
        batchSize: spec.batchSize,
        learningRate: spec.learningRate,
        scaleRange: [spec.scaleMin, spec.scaleMax],
        maxRotation: spec.maxRotation,
        seed: spec.seed,
        signal: ctx.signal,
        onProgress: (p) => ctx.onProgress?.({ stage: 'train', ...p }),
      });
      const { patch, mask } = trained;
      const noise = tf.randomUniform<tf.Rank.R3>(patch.shape, lo, hi, 'float32', spec.seed);
      try {
        const measure = {
          target,
          shape: spec.shape,
          trials: spec.trials,
          seed: spec.seed,
          signal: ctx.signal,
        };
        const onTrain = await evaluatePatch(model, patch, data.train, data.trainLabels, measure);
        const onHeldOut = await evaluatePatch(model, patch, data.heldOut, data.heldOutLabels, measure);
        const baseline = await evaluatePatch(model, noise, data.heldOut, data.heldOutLabels, measure);
        const [side, , channels] = patch.shape;
        const png = await patchPng({
          values: await patch.data(),
          mask: await mask.data(),
          side,
          channels,
          bounds: model.bounds,
        });
        return {
          result: {
            task: 'patch',
            schemaVersion: 1,
            model: source.dir,
            backend: engineName(),
            data: data.source,
            labels: data.labelSource,
            target: targetInfo,
            patch: { pixels: side, size: spec.size, shape: spec.shape },
            options: trained.options,
            seconds: trained.seconds,
            gradients: trained.cost.gradients,
            train: onTrain,
            heldOut: onHeldOut,
            randomPatch: baseline,
            notes: data.notes,
          },
          artifacts: [{ name: 'patch.png', mediaType: 'image/png', bytes: png }],
        };
      } finally {
        tf.dispose([patch, mask, noise]);
      }
    } finally {
      if (data) tf.dispose([data.train, data.heldOut]);
      model.dispose();
    }
  },
};

/** A patch is trained for one class: a name or an index, not 'least-likely' or 'random'. */
function fixedTarget(value: string, classNames: readonly string[]): number {
  const { index } = resolveTarget(value, classNames);
  if (index === null) {
    throw invalidArgument(
      `--target ${value}: a patch is trained for one fixed class; give a class name or an index from 0 to ${classNames.length - 1}.`,
    );
  }
  return index;
}

/** The photos of a folder at the model's input size, alternating between training and held-out. */
async function photoData(model: Classifier, dir: string): Promise<PatchData> {
  const files = photoFiles(dir).map((f) => path.join(dir, f));
  const all = await loadImageInputs(model, files);
  try {
    const clean = tf.tidy(() => tf.argMax(model.logits(all), 1));
    const predictions = Int32Array.from(await clean.data());
    clean.dispose();
    const rows = (parity: number): Int32Array =>
      Int32Array.from(files.keys()).filter((i) => i % 2 === parity);
    const pick = (r: Int32Array): tf.Tensor4D => tf.tidy(() => tf.gather(all, tf.tensor1d(r, 'int32')));
    const [trainRows, heldOutRows] = [rows(0), rows(1)];
    return {
      source: dir,
      train: pick(trainRows),
      trainLabels: trainRows.map((i) => predictions[i]),
      heldOut: pick(heldOutRows),
      heldOutLabels: heldOutRows.map((i) => predictions[i]),
      labelSource: 'clean predictions',
      notes: [],
    };
  } finally {
    all.dispose();
  }
}

/**
 * The photos of a folder (recursive, sorted, relative to it): the even ones train a patch, the odd ones are held
 * out, here and in the patch-gradcam experiment.
 */
export function photoFiles(dir: string): string[] {
  let files: string[];
  try {
    if (!statSync(dir).isDirectory()) {
      throw invalidArgument(`'images' must be a folder of photos, got the file ${dir}.`, {
        option: 'images',
      });
    }
    files = readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => IMAGE_FILE.test(f))
      .sort();
  } catch (err) {
    if (err instanceof AdvkitError) throw err;
    throw new AdvkitError(
      'NOT_FOUND',
      `Cannot read the folder ${dir}: ${err instanceof Error ? err.message : String(err)}.`,
    );
  }
  if (files.length < 2) {
    throw invalidArgument(
      `'images' needs at least 2 photos (half train the patch, half measure it); ${dir} has ${files.length}.`,
      { option: 'images' },
    );
  }
  return files;
}

/** The first n images of the training split train the patch; the first n of the test split measure it. */
async function datasetData(
  model: Classifier,
  req: { data?: string; dataDir?: string; n: number },
): Promise<PatchData> {
  const train = await loadModelSample(model, { ...req, split: 'train' });
  const heldOut = await loadModelSample(model, { ...req, split: 'test' }).catch((err: unknown) => {
    train.x.dispose();
    throw err;
  });
  return {
    source: `${train.info.name} (train #0-${train.info.n - 1}, held-out test #0-${heldOut.info.n - 1})`,
    train: train.x,
    trainLabels: train.labels,
    heldOut: heldOut.x,
    heldOutLabels: heldOut.labels,
    labelSource: 'dataset',
    notes: [...train.info.notes, ...heldOut.info.notes],
  };
}
