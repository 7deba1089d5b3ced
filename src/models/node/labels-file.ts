import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AdvkitError } from '../../errors.js';
import { isWordNetId, nameWordNetIds, parseClassIndex, parseLabels } from '../labels.js';
import { readJsonFile } from './model-files.js';

/** File name of the Keras ImageNet class index ({"0": ["n01440764", "tench"], ...}). */
export const CLASS_INDEX_FILE = 'imagenet_class_index.json';

export interface ReadLabelsOptions {
  /** A Keras imagenet_class_index.json to turn WordNet ids into names. */
  wnidNames?: string;
  /** More directories to look for imagenet_class_index.json in (e.g. the model directory). */
  searchDirs?: string[];
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * Where to find a class index for WordNet ids, in order: the explicit file, next to the labels file, the
 * search directories, then $ADVKIT_DATA/imagenet-samples.
 */
async function findClassIndex(labelsFile: string, opts: ReadLabelsOptions): Promise<string | undefined> {
  if (opts.wnidNames !== undefined) {
    if (!(await exists(opts.wnidNames))) {
      throw new AdvkitError('NOT_FOUND', `Class index ${opts.wnidNames} (given to name WordNet ids) does not exist.`, {
        path: opts.wnidNames,
      });
    }
    return opts.wnidNames;
  }
  const dirs = [path.dirname(labelsFile), ...(opts.searchDirs ?? [])];
  const dataDir = process.env.ADVKIT_DATA;
  if (dataDir !== undefined && dataDir !== '') dirs.push(path.join(dataDir, 'imagenet-samples'));
  for (const dir of dirs) {
    const candidate = path.join(dir, CLASS_INDEX_FILE);
    if (await exists(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Reads class labels: one per line (.txt), a JSON array, or a Keras class index. WordNet ids (n01440764)
 * become readable names when a class index is found (see findClassIndex); otherwise they stay ids.
 */
export async function readLabelsFile(file: string, opts: ReadLabelsOptions = {}): Promise<string[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new AdvkitError('NOT_FOUND', `Labels file ${file} does not exist or cannot be read.`, { path: file });
  }
  const labels = parseLabels(text, file);
  if (!labels.every(isWordNetId)) return labels;
  const indexFile = await findClassIndex(file, opts);
  if (indexFile === undefined) return labels;
  return nameWordNetIds(labels, parseClassIndex(await readJsonFile(indexFile), indexFile));
}

/**
 * A labels file in a model directory without advkit.json: labels.txt, labels.json, or a single other
 * `*labels*.txt` / `*labels*.json` file (e.g. imagenet.labels.darknet-order.txt).
 */
export async function findLabelsFile(dir: string): Promise<string | undefined> {
  const names = (await fs.readdir(dir)).sort();
  for (const preferred of ['labels.txt', 'labels.json']) if (names.includes(preferred)) return path.join(dir, preferred);
  const matches = names.filter((n) => /labels/i.test(n) && /\.(txt|json)$/i.test(n));
  if (matches.length > 1) {
    throw new AdvkitError(
      'INVALID_ARGUMENT',
      `${dir} has several labels files (${matches.join(', ')}); say which one to use.`,
      { path: dir },
    );
  }
  return matches.length === 1 ? path.join(dir, matches[0]) : undefined;
}
