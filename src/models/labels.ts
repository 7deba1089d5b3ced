import { AdvkitError } from '../errors.js';

/** A WordNet synset id as used by ImageNet (e.g. n01440764). */
export function isWordNetId(label: string): boolean {
  return /^n\d{8}$/.test(label);
}

function corrupt(source: string, what: string): AdvkitError {
  return new AdvkitError('CORRUPT_DATA', `${source}: ${what}.`, { file: source });
}

/**
 * Reads a Keras imagenet_class_index.json ({"0": ["n01440764", "tench"], ...}) into [wnid, name] pairs in
 * index order.
 */
export function parseClassIndex(value: unknown, source: string): [string, string][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw corrupt(source, 'expected a class index object like {"0": ["n01440764", "tench"], ...}');
  }
  const entries = Object.entries(value);
  const pairs: [string, string][] = new Array(entries.length);
  for (const [key, entry] of entries) {
    const index = Number(key);
    if (!Number.isInteger(index) || index < 0 || index >= entries.length) {
      throw corrupt(source, `class index keys must be 0..${entries.length - 1}, found "${key}"`);
    }
    if (!Array.isArray(entry) || entry.length !== 2 || !entry.every((s) => typeof s === 'string')) {
      throw corrupt(source, `entry "${key}" must be [id, name]`);
    }
    pairs[index] = [entry[0], entry[1]];
  }
  return pairs;
}

/**
 * Parses class labels from a labels file's text: a JSON array of names, a Keras class index object
 * (names are taken), or plain text with one label per line (blank lines at the end are ignored).
 */
export function parseLabels(text: string, source: string): string[] {
  const trimmed = text.trim();
  let labels: string[];
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (err) {
      throw corrupt(source, `invalid JSON (${(err as Error).message})`);
    }
    if (Array.isArray(value)) {
      if (!value.every((v) => typeof v === 'string')) throw corrupt(source, 'a JSON labels array must hold strings');
      labels = value;
    } else {
      labels = parseClassIndex(value, source).map(([, name]) => name);
    }
  } else {
    labels = trimmed.split(/\r?\n/).map((line) => line.trim());
    const blank = labels.findIndex((l) => l === '');
    if (blank >= 0) throw corrupt(source, `line ${blank + 1} is empty; expected one label per line`);
  }
  if (labels.length < 2) throw corrupt(source, `expected at least 2 labels, found ${labels.length}`);
  return labels;
}

/**
 * Replaces WordNet ids by readable names from a class index (e.g. n02123045 -> tabby); labels that are not
 * in the index are kept as they are.
 */
export function nameWordNetIds(labels: string[], classIndex: [string, string][]): string[] {
  const names = new Map(classIndex);
  return labels.map((label) => names.get(label) ?? label);
}
