import * as tf from '@tensorflow/tfjs-core';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AdvkitError, invalidArgument } from '../../errors.js';
import { ADVKIT_VERSION } from '../../version.js';
import type { Classifier } from '../classifier.js';
import { ADVKIT_MODEL_FORMAT, METADATA_FILE, type ClassifierMetadata } from '../metadata.js';
import { writeFileSynced } from '../../util/node/write-file-synced.js';

/** File name of the single weights file that saveClassifier writes. */
export const WEIGHTS_FILE = 'weights.bin';

async function serialize(classifier: Classifier): Promise<tf.io.ModelArtifacts> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await classifier.net.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  if (artifacts === undefined) throw new AdvkitError('INTERNAL', 'The model produced no artifacts when saved.');
  return artifacts;
}

function modelJsonFor(artifacts: tf.io.ModelArtifacts): tf.io.ModelJSON {
  const json: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology ?? {},
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
  };
  if (artifacts.signature !== undefined) json.signature = artifacts.signature;
  if (artifacts.userDefinedMetadata !== undefined) json.userDefinedMetadata = artifacts.userDefinedMetadata;
  if (artifacts.modelInitializer !== undefined) json.modelInitializer = artifacts.modelInitializer;
  if (artifacts.trainingConfig !== undefined) json.trainingConfig = artifacts.trainingConfig;
  return json;
}

async function isDirectory(p: string): Promise<boolean | undefined> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return undefined;
  }
}

/** Refuses to replace anything that is not a model directory, so a typo cannot delete unrelated files. */
async function checkReplaceable(target: string): Promise<boolean> {
  const dir = await isDirectory(target);
  if (dir === undefined) return false;
  if (!dir) throw invalidArgument(`Cannot save a model to ${target}: it is a file, not a directory.`);
  const entries = await fs.readdir(target);
  if (entries.length > 0 && !entries.includes('model.json') && !entries.includes(METADATA_FILE)) {
    throw invalidArgument(
      `Cannot save a model to ${target}: the directory is not empty and holds no model (model.json). Choose another directory.`,
    );
  }
  return true;
}

/**
 * Throws the error saveClassifier would throw for this target directory (a file, or a non-empty directory
 * that holds no model), so that a long job can check where it will save before it starts.
 */
export async function assertCanSaveClassifier(dir: string): Promise<void> {
  await checkReplaceable(path.resolve(dir));
}

/**
 * Saves a classifier as model.json + weights.bin + advkit.json (metadata: architecture, dataset,
 * preprocessing, class names, training config, metrics, seed, advkit version, creation time).
 * Atomic: the files are written into a temporary sibling directory that is then renamed into place, so the
 * target is never half-written; an existing model directory there is replaced only after the new one is
 * complete, and restored if the swap fails. `extra` fields override the classifier's metadata.
 */
export async function saveClassifier(
  classifier: Classifier,
  dir: string,
  extra: Partial<ClassifierMetadata> = {},
): Promise<void> {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const replace = await checkReplaceable(target);
  const artifacts = await serialize(classifier);
  const metadata: ClassifierMetadata = {
    ...classifier.metadata,
    ...extra,
    format: ADVKIT_MODEL_FORMAT,
    advkitVersion: ADVKIT_VERSION,
    createdAt: extra.createdAt ?? new Date().toISOString(),
  };
  const weights =
    artifacts.weightData === undefined
      ? new Uint8Array(0)
      : new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));

  await fs.mkdir(parent, { recursive: true });
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = path.join(parent, `.${path.basename(target)}.tmp-${suffix}`);
  const old = path.join(parent, `.${path.basename(target)}.old-${suffix}`);
  await fs.mkdir(tmp);
  try {
    await writeFileSynced(path.join(tmp, WEIGHTS_FILE), weights);
    await writeFileSynced(path.join(tmp, 'model.json'), JSON.stringify(modelJsonFor(artifacts)));
    await writeFileSynced(path.join(tmp, METADATA_FILE), JSON.stringify(metadata, null, 2) + '\n');
    if (replace) await fs.rename(target, old);
    try {
      await fs.rename(tmp, target);
    } catch (err) {
      if (replace) await fs.rename(old, target);
      throw err;
    }
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    if (err instanceof AdvkitError) throw err;
    throw new AdvkitError('INTERNAL', `Saving the model to ${target} failed: ${(err as Error).message}`, {
      path: target,
    });
  }
  if (replace) await fs.rm(old, { recursive: true, force: true });
  classifier.metadata = metadata;
}
