/**
 * Label maps for image folders. Two kinds:
 * - class lists: index -> class name. imagenet_class_index.json ({"0": ["n01440764", "tench"], ...}), a JSON array
 *   of names, a JSON object {"0": "name"}, or a .txt file with one name per line. Files then get their class from
 *   their subfolder (a class name, WordNet id or index) or from a trailing `_<index>` in their name.
 * - per-file labels: a .csv/.tsv of `file,label` rows (optional header), or a JSON object {"file.png": label};
 *   a label is a class index or a class name.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AdvkitError } from '../../errors.js';

export interface ClassList {
  kind: 'classes';
  classNames: string[];
  /** Every accepted spelling of a class (name, WordNet id, index) -> index. */
  aliases: Map<string, number>;
}

export interface FileLabels {
  kind: 'files';
  classNames: string[];
  /** Path relative to the folder (forward slashes) -> label index. */
  labels: Map<string, number>;
}

export type LabelMap = ClassList | FileLabels;

/** File names looked for in an image folder when no label map is given. */
export const LABEL_MAP_NAMES = [
  'labels.csv',
  'labels.tsv',
  'labels.json',
  'labels.txt',
  'classes.txt',
  'imagenet_class_index.json',
];

function corrupt(file: string, message: string): AdvkitError {
  return new AdvkitError('CORRUPT_DATA', `${file}: ${message}`, { file });
}

function classList(names: string[], extraAliases: [string, number][] = []): ClassList {
  const aliases = new Map<string, number>();
  names.forEach((n, i) => {
    aliases.set(String(i), i);
    aliases.set(n, i);
  });
  for (const [alias, i] of extraAliases) aliases.set(alias, i);
  return { kind: 'classes', classNames: names, aliases };
}

/** Per-file labels given as indices or names; names are numbered in sorted order. */
function fileLabels(rows: [string, string][], file: string): FileLabels {
  if (rows.length === 0) throw corrupt(file, 'holds no file,label rows.');
  const numeric = rows.every(([, label]) => /^\d+$/.test(label));
  const classNames = numeric
    ? Array.from({ length: Math.max(...rows.map(([, l]) => Number(l))) + 1 }, (_, i) => String(i))
    : [...new Set(rows.map(([, l]) => l))].sort();
  const sortedIndex = new Map(classNames.map((n, i) => [n, i]));
  const labels = new Map<string, number>();
  for (const [name, label] of rows) {
    const key = name.replaceAll('\\', '/').replace(/^\.\//, '');
    if (labels.has(key)) throw corrupt(file, `lists ${name} twice.`);
    labels.set(key, numeric ? Number(label) : (sortedIndex.get(label) ?? 0));
  }
  return { kind: 'files', classNames, labels };
}

function fromJson(value: unknown, file: string): LabelMap {
  if (Array.isArray(value)) {
    if (!value.every((v) => typeof v === 'string'))
      throw corrupt(file, 'a JSON array label map must hold class names (strings).');
    return classList(value);
  }
  if (typeof value !== 'object' || value === null)
    throw corrupt(file, 'expected a JSON array or object label map.');
  const entries = Object.entries(value);
  if (entries.length === 0) throw corrupt(file, 'the label map is empty.');
  if (!entries.every(([k]) => /^\d+$/.test(k))) {
    const rows = entries.map(([k, v]): [string, string] => {
      if (typeof v !== 'string' && typeof v !== 'number')
        throw corrupt(file, `the label of ${k} must be a class index or name.`);
      return [k, String(v)];
    });
    return fileLabels(rows, file);
  }
  const names: string[] = new Array(entries.length);
  const wnids: [string, number][] = [];
  for (const [k, v] of entries) {
    const i = Number(k);
    if (i >= entries.length)
      throw corrupt(file, `class indices must be 0..${entries.length - 1}; found ${k}.`);
    if (typeof v === 'string') {
      names[i] = v;
    } else if (Array.isArray(v) && v.length === 2 && v.every((s) => typeof s === 'string')) {
      // imagenet_class_index.json: [WordNet id, name]
      names[i] = v[1];
      wnids.push([v[0], i]);
    } else {
      throw corrupt(file, `class ${k} must be a name or a [wordnet_id, name] pair.`);
    }
  }
  return classList(names, wnids);
}

function fromDelimited(text: string, delimiter: string, file: string): FileLabels {
  const rows = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line, n): [string, string] => {
      const parts = line.split(delimiter).map((p) => p.trim());
      if (parts.length !== 2) throw corrupt(file, `line ${n + 1} '${line}' is not 'file${delimiter}label'.`);
      return [parts[0], parts[1]];
    });
  // A header row names columns, not an image file.
  if (rows.length > 0 && !/\.[A-Za-z0-9]+$/.test(rows[0][0])) rows.shift();
  return fileLabels(rows, file);
}

export async function readLabelMap(file: string): Promise<LabelMap> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new AdvkitError('NOT_FOUND', `Label map ${file} cannot be read.`, { file });
  }
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw corrupt(file, `is not valid JSON (${err instanceof Error ? err.message : String(err)}).`);
    }
    return fromJson(value, file);
  }
  if (ext === '.csv') return fromDelimited(text, ',', file);
  if (ext === '.tsv') return fromDelimited(text, '\t', file);
  if (ext === '.txt') {
    const names = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '');
    if (names.length === 0) throw corrupt(file, 'holds no class names (expected one per line).');
    return classList(names);
  }
  throw new AdvkitError(
    'INVALID_ARGUMENT',
    `Label map ${file}: unknown format '${ext}'; expected .json, .txt, .csv or .tsv.`,
    {
      file,
    },
  );
}
