import * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AdvkitError } from '../../errors.js';

/** Where a model lives: a directory holding model.json, or the model.json file itself. */
export interface ModelLocation {
  dir: string;
  modelJson: string;
}

async function statOrNull(p: string): Promise<import('node:fs').Stats | null> {
  try {
    return await fs.stat(p);
  } catch {
    return null;
  }
}

/** Resolves a model directory or model.json path; NOT_FOUND names what is missing. */
export async function locateModel(dirOrFile: string): Promise<ModelLocation> {
  const target = path.resolve(dirOrFile);
  const stat = await statOrNull(target);
  if (stat === null) {
    throw new AdvkitError('NOT_FOUND', `Model not found: ${target} does not exist. Give a model directory or its model.json.`, {
      path: target,
    });
  }
  if (stat.isFile()) return { dir: path.dirname(target), modelJson: target };
  const modelJson = path.join(target, 'model.json');
  if ((await statOrNull(modelJson)) === null) {
    throw new AdvkitError('NOT_FOUND', `No model.json in ${target}. A tfjs model directory holds model.json and its weight files.`, {
      path: modelJson,
    });
  }
  return { dir: target, modelJson };
}

/** Reads and parses a JSON file; CORRUPT_DATA names the file when it is not valid JSON. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new AdvkitError('NOT_FOUND', `Cannot read ${file}: ${(err as Error).message}`, { path: file });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AdvkitError('CORRUPT_DATA', `${file} is not valid JSON: ${(err as Error).message}`, { file });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readShard(file: string, modelJson: string): Promise<ArrayBuffer> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch {
    throw new AdvkitError('NOT_FOUND', `Weight file ${file} listed in ${modelJson} is missing.`, { path: file });
  }
  return new Uint8Array(bytes).buffer;
}

const WEIGHT_DTYPES = ['float32', 'int32', 'bool', 'string', 'complex64'] as const;
const QUANTIZED_DTYPES = ['uint8', 'uint16', 'float16'] as const;

function oneOf<T extends string>(value: unknown, options: readonly T[]): T | undefined {
  return options.find((o) => o === value);
}

function parseWeightEntry(
  w: unknown,
  where: string,
  bad: (what: string) => AdvkitError,
): tf.io.WeightsManifestEntry {
  if (!isRecord(w) || typeof w.name !== 'string' || !Array.isArray(w.shape)) {
    throw bad(`${where} must have a name, a shape and a dtype`);
  }
  const shape = w.shape.filter((d): d is number => Number.isInteger(d) && d >= 0);
  const dtype = oneOf(w.dtype, WEIGHT_DTYPES);
  if (shape.length !== w.shape.length || dtype === undefined) {
    throw bad(`${where} must have a shape of non-negative integers and a dtype (${WEIGHT_DTYPES.join(', ')})`);
  }
  const entry: tf.io.WeightsManifestEntry = { name: w.name, shape, dtype };
  if (w.quantization !== undefined) {
    const q = w.quantization;
    const qDtype = isRecord(q) ? oneOf(q.dtype, QUANTIZED_DTYPES) : undefined;
    if (!isRecord(q) || qDtype === undefined) throw bad(`${where}.quantization has an unknown dtype`);
    entry.quantization = {
      dtype: qDtype,
      ...(typeof q.scale === 'number' ? { scale: q.scale } : {}),
      ...(typeof q.min === 'number' ? { min: q.min } : {}),
    };
  }
  return entry;
}

/** Checks the structure of "weightsManifest" so that a bad file fails here, naming the file. */
function parseManifest(value: unknown, modelJson: string): tf.io.WeightsManifestConfig {
  const bad = (what: string): AdvkitError =>
    new AdvkitError('CORRUPT_DATA', `${modelJson}: ${what}.`, { file: modelJson });
  if (!Array.isArray(value)) throw bad('"weightsManifest" must be an array');
  return value.map((group, g) => {
    if (!isRecord(group) || !Array.isArray(group.paths) || !group.paths.every((p) => typeof p === 'string')) {
      throw bad(`weightsManifest[${g}].paths must be an array of file names`);
    }
    if (!Array.isArray(group.weights)) throw bad(`weightsManifest[${g}].weights must be an array`);
    const weights = group.weights.map((w, i) => parseWeightEntry(w, `weightsManifest[${g}].weights[${i}]`, bad));
    return { paths: group.paths, weights };
  });
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, float16: 2 };

function expectedBytes(specs: tf.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const spec of specs) {
    const dtype = spec.quantization?.dtype ?? spec.dtype;
    const bytes = DTYPE_BYTES[dtype];
    if (bytes === undefined) return undefined; // strings etc.: size not known from the manifest
    total += spec.shape.reduce((a, d) => a * d, 1) * bytes;
  }
  return total;
}

/**
 * Reads a tfjs model.json and its weight shards from disk into ModelArtifacts (what tf.io.fromMemory and the
 * model loaders take), without tfjs-node. Errors name the file: NOT_FOUND for a missing shard, CORRUPT_DATA
 * for bad JSON or a shard whose size does not match the manifest.
 */
export async function readModelArtifacts(modelJson: string): Promise<tf.io.ModelArtifacts> {
  const json = await readJsonFile(modelJson);
  if (!isRecord(json) || !isRecord(json.modelTopology)) {
    throw new AdvkitError('CORRUPT_DATA', `${modelJson} is not a tfjs model.json: it has no "modelTopology" object.`, {
      file: modelJson,
    });
  }
  const dir = path.dirname(modelJson);
  const modelJSON: tf.io.ModelJSON = {
    ...json,
    modelTopology: json.modelTopology,
    weightsManifest: parseManifest(json.weightsManifest ?? [], modelJson),
  };
  return tf.io.getModelArtifactsForJSON(modelJSON, async (groups) => {
    const specs: tf.io.WeightsManifestEntry[] = [];
    const buffers: ArrayBuffer[] = [];
    for (const group of groups) {
      const groupBuffers: ArrayBuffer[] = [];
      for (const shard of group.paths) {
        groupBuffers.push(await readShard(path.resolve(dir, shard), modelJson));
      }
      const got = groupBuffers.reduce((a, b) => a + b.byteLength, 0);
      const want = expectedBytes(group.weights);
      if (want !== undefined && got !== want) {
        throw new AdvkitError(
          'CORRUPT_DATA',
          `Weight files ${group.paths.join(', ')} of ${modelJson} hold ${got} bytes; the manifest needs ${want}.`,
          { file: path.resolve(dir, group.paths[0] ?? '') },
        );
      }
      specs.push(...group.weights);
      buffers.push(...groupBuffers);
    }
    return [specs, buffers];
  });
}
