import { AdvkitError } from '../errors.js';
import { parsePreprocessing, type Preprocessing } from './preprocessing.js';

/** Value of ClassifierMetadata.format: marks an advkit.json written by advkit. */
export const ADVKIT_MODEL_FORMAT = 'advkit-model';

/** File name of the metadata written next to model.json. */
export const METADATA_FILE = 'advkit.json';

/** Everything advkit knows about a model beyond its weights; saved as advkit.json beside model.json. */
export interface ClassifierMetadata {
  format: typeof ADVKIT_MODEL_FORMAT;
  /** advkit version that made the model, or wrote the file (stamped again when saved). */
  advkitVersion: string;
  /** An ArchitectureName, or 'external' for a model that advkit did not build. */
  architecture: string;
  architectureOptions?: Record<string, unknown>;
  dataset?: string;
  /** [height, width, channels] of one input image. */
  inputShape: [number, number, number];
  /** Pixel-space bounds of valid inputs. */
  bounds: [number, number];
  preprocessing: Preprocessing;
  classNames: string[];
  training?: Record<string, unknown>;
  metrics?: Record<string, number>;
  seed?: number;
  createdAt?: string;
  /** Facts a user should know, e.g. that a final softmax was removed to expose logits. */
  notes?: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNumberTuple(value: unknown, length: number): value is number[] {
  return Array.isArray(value) && value.length === length && value.every((v) => typeof v === 'number');
}

function numberRecord(value: Record<string, unknown>, bad: (what: string) => AdvkitError): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'number') throw bad(`"metrics.${k}" must be a number`);
    out[k] = v;
  }
  return out;
}

/**
 * Validates parsed advkit.json content. `source` names the file in error messages.
 * Throws CORRUPT_DATA when a required field is missing or has the wrong type.
 */
export function parseMetadata(value: unknown, source: string): ClassifierMetadata {
  const bad = (what: string): AdvkitError =>
    new AdvkitError('CORRUPT_DATA', `${source}: ${what}.`, { file: source });
  if (!isRecord(value)) throw bad('expected a JSON object');
  if (value.format !== ADVKIT_MODEL_FORMAT) throw bad(`"format" must be "${ADVKIT_MODEL_FORMAT}"`);
  if (typeof value.architecture !== 'string') throw bad('"architecture" must be a string');
  if (!isNumberTuple(value.inputShape, 3) || !value.inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw bad('"inputShape" must be [height, width, channels] with positive integers');
  }
  if (!isNumberTuple(value.bounds, 2) || !(value.bounds[0] < value.bounds[1])) {
    throw bad('"bounds" must be [min, max] with min < max');
  }
  if (!Array.isArray(value.classNames) || !value.classNames.every((c) => typeof c === 'string')) {
    throw bad('"classNames" must be an array of strings');
  }
  for (const key of ['architectureOptions', 'training', 'metrics'] as const) {
    if (value[key] !== undefined && !isRecord(value[key])) throw bad(`"${key}" must be an object`);
  }
  if (value.notes !== undefined && !(Array.isArray(value.notes) && value.notes.every((n) => typeof n === 'string'))) {
    throw bad('"notes" must be an array of strings');
  }
  const optionalString = (key: string): string | undefined => {
    const v = value[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw bad(`"${key}" must be a string`);
    return v;
  };
  const metadata: ClassifierMetadata = {
    format: ADVKIT_MODEL_FORMAT,
    advkitVersion: optionalString('advkitVersion') ?? '',
    architecture: value.architecture,
    inputShape: [value.inputShape[0], value.inputShape[1], value.inputShape[2]],
    bounds: [value.bounds[0], value.bounds[1]],
    preprocessing: value.preprocessing === undefined ? {} : parsePreprocessing(value.preprocessing, source),
    classNames: value.classNames,
  };
  const dataset = optionalString('dataset');
  if (dataset !== undefined) metadata.dataset = dataset;
  const createdAt = optionalString('createdAt');
  if (createdAt !== undefined) metadata.createdAt = createdAt;
  if (isRecord(value.architectureOptions)) metadata.architectureOptions = value.architectureOptions;
  if (isRecord(value.training)) metadata.training = value.training;
  if (isRecord(value.metrics)) metadata.metrics = numberRecord(value.metrics, bad);
  if (typeof value.seed === 'number') metadata.seed = value.seed;
  if (Array.isArray(value.notes)) metadata.notes = value.notes;
  return metadata;
}
