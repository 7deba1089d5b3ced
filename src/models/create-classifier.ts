import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AdvkitError, invalidArgument } from '../errors.js';
import { ADVKIT_VERSION } from '../version.js';
import { buildArchitecture, type ArchitectureName } from './architectures/index.js';
import { Classifier } from './classifier.js';
import { classifierFromArtifacts } from './from-artifacts.js';
import { ADVKIT_MODEL_FORMAT } from './metadata.js';
import type { Preprocessing } from './preprocessing.js';

export interface CreateClassifierOptions {
  inputShape: [number, number, number];
  /** Defaults to classNames.length. */
  numClasses?: number;
  /** Defaults to '0', '1', ... */
  classNames?: string[];
  preprocessing?: Preprocessing;
  /** Pixel-space input bounds, default [0, 1]. */
  bounds?: [number, number];
  /** Weight-initialization seed, default 0. */
  seed?: number;
  dataset?: string;
  /** Architecture-specific options (hiddenSizes, batchNorm, dropout, depth, widenFactor, ...). */
  [option: string]: unknown;
}

function resolveClassNames(numClasses: number | undefined, classNames: string[] | undefined): string[] {
  if (classNames !== undefined) {
    if (numClasses !== undefined && numClasses !== classNames.length) {
      throw invalidArgument(`numClasses is ${numClasses} but ${classNames.length} classNames were given.`);
    }
    return classNames;
  }
  if (numClasses === undefined) throw invalidArgument('Give numClasses or classNames.');
  return Array.from({ length: numClasses }, (_, i) => String(i));
}

/** A freshly initialized Classifier of a built-in architecture; the same seed gives the same weights. */
export function createClassifier(arch: ArchitectureName, opts: CreateClassifierOptions): Classifier {
  const { inputShape, numClasses, classNames, preprocessing, bounds, seed, dataset, ...archOptions } = opts;
  const names = resolveClassNames(numClasses, classNames);
  const net = buildArchitecture(arch, { ...archOptions, inputShape, numClasses: names.length, seed });
  try {
    return new Classifier(net, {
      format: ADVKIT_MODEL_FORMAT,
      advkitVersion: ADVKIT_VERSION,
      architecture: arch,
      architectureOptions: archOptions,
      ...(dataset !== undefined ? { dataset } : {}),
      inputShape,
      bounds: bounds ?? [0, 1],
      preprocessing: preprocessing ?? {},
      classNames: names,
      seed: seed ?? 0,
      createdAt: new Date().toISOString(),
    });
  } catch (err) {
    net.dispose();
    throw err;
  }
}

export interface WrapModelOptions {
  classNames?: string[];
  preprocessing?: Preprocessing;
  inputShape?: [number, number, number];
  bounds?: [number, number];
}

/**
 * Wraps a tfjs LayersModel built elsewhere as a Classifier. The classifier is rebuilt from the model's
 * serialized form, so that a final softmax can be removed (noted in metadata.notes); `model` is disposed.
 */
export async function wrapLayersModel(model: tfl.LayersModel, opts: WrapModelOptions = {}): Promise<Classifier> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  if (artifacts === undefined) throw new AdvkitError('INTERNAL', 'The model produced no artifacts when serialized.');
  const classifier = await classifierFromArtifacts({ artifacts, ...opts, source: `model '${model.name}'` });
  model.dispose();
  return classifier;
}
