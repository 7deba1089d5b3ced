import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Classifier } from '../classifier.js';
import { classifierFromArtifacts } from '../from-artifacts.js';
import { METADATA_FILE, parseMetadata, type ClassifierMetadata } from '../metadata.js';
import type { Preprocessing } from '../preprocessing.js';
import { findLabelsFile, readLabelsFile } from './labels-file.js';
import { locateModel, readJsonFile, readModelArtifacts } from './model-files.js';

export interface LoadClassifierOptions {
  /** A labels file (.txt one per line, JSON array, or Keras class index); overrides advkit.json. */
  labels?: string;
  /** A Keras imagenet_class_index.json to name WordNet-id labels. */
  wnidNames?: string;
  /** Overrides advkit.json; default none. */
  preprocessing?: Preprocessing;
  /** Overrides advkit.json; default inferred from the model. */
  inputShape?: [number, number, number];
  /** Overrides advkit.json; default [0, 1]. */
  bounds?: [number, number];
}

async function readMetadata(file: string): Promise<ClassifierMetadata | undefined> {
  try {
    await fs.access(file);
  } catch {
    return undefined;
  }
  return parseMetadata(await readJsonFile(file), file);
}

/**
 * Loads a tfjs LayersModel or GraphModel from a directory (or its model.json) as a Classifier, in Node and
 * without tfjs-node. advkit.json, when present, gives the input shape, bounds, preprocessing and class names;
 * `overrides` win over it. Without advkit.json: bounds [0, 1], no preprocessing, input shape from the model,
 * class names from `overrides.labels` or a labels file found in the directory (else '0', '1', ...).
 */
export async function loadClassifier(dirOrModelJson: string, overrides: LoadClassifierOptions = {}): Promise<Classifier> {
  const { dir, modelJson } = await locateModel(dirOrModelJson);
  const metadataFile = path.join(dir, METADATA_FILE);
  const metadata = await readMetadata(metadataFile);
  const labelsFile = overrides.labels ?? (metadata === undefined ? await findLabelsFile(dir) : undefined);
  const classNames =
    labelsFile === undefined
      ? undefined
      : await readLabelsFile(labelsFile, { wnidNames: overrides.wnidNames, searchDirs: [dir] });
  const artifacts = await readModelArtifacts(modelJson);
  return classifierFromArtifacts({
    artifacts,
    metadata,
    metadataSource: metadataFile,
    classNames,
    classNamesSource: labelsFile,
    preprocessing: overrides.preprocessing,
    inputShape: overrides.inputShape,
    bounds: overrides.bounds,
    source: modelJson,
  });
}
