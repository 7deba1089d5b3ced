import path from 'node:path';
import type { Classifier } from '../models/classifier.js';
import { loadClassifier } from '../models/node/load-classifier.js';
import { resolveModelDir } from '../models/node/package-root.js';

/** A model as a task loaded it: the classifier and where it came from, for reports and reproduce lines. */
export interface ModelSource {
  model: Classifier;
  /** The directory it was loaded from. */
  dir: string;
  /** The name shown in outputs: the bundled name or the directory's base name. */
  name: string;
  /** The reference as the spec gave it (or the default's name). */
  ref: string;
}

/**
 * Resolves a spec's model reference (a directory, or the name of a bundled model: every task takes both) and
 * loads it. `flag` names the option in errors.
 */
export async function openModel(
  ref: string | undefined,
  opts: { defaultName: string; labels?: string; flag?: string },
): Promise<ModelSource> {
  const given = ref ?? opts.defaultName;
  const dir = resolveModelDir(given, opts.flag ?? '--model');
  const model = await loadClassifier(dir, opts.labels !== undefined ? { labels: opts.labels } : undefined);
  return { model, dir, name: path.basename(path.resolve(dir)), ref: given };
}
