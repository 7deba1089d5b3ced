import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { AdvkitError, invalidArgument } from '../errors.js';
import { METADATA_FILE, parseMetadata } from '../models/metadata.js';
import { loadClassifier } from '../models/node/load-classifier.js';
import { readJsonFile } from '../models/node/model-files.js';
import { packageRoot } from '../util/node/package-root.js';

/** What a client may know about a served model: enough to build its inputs and read its outputs. */
export interface ModelInfo {
  /** The name a client uses in routes (`/v1/models/{name}`): the model's folder name. */
  name: string;
  /** The dataset it was trained on (advkit.json), when known. */
  dataset?: string;
  /** [height, width, channels] of one input. */
  inputShape: [number, number, number];
  /** Class names in output order. */
  classes: string[];
  /** Valid input range: raw inputs must lie within it, and eps is measured in its units. */
  bounds: [number, number];
  /** Test accuracy and robust accuracies recorded when it was trained (advkit.json's metrics). */
  metrics: Record<string, number>;
  /** Where it comes from: advkit's bundled models or the server's --models folder. */
  source: 'bundled' | 'models-dir';
  /** Facts recorded with the model (advkit.json's notes). */
  notes?: string[];
}

/** A model name: a folder name, never a path (no slash, no `..`, not absolute). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * The models a server serves, by name only: clients never name a directory, so no request can make the server
 * read a file outside these folders. The catalog is the bundled models (`<package root>/models`) plus every
 * subfolder of `modelsDir` that holds a model.json; a folder there shadows a bundled model of the same name,
 * since the operator chose it. It is read once, when the server starts.
 */
export class ModelCatalog {
  private constructor(
    private readonly entries: ReadonlyMap<string, { dir: string; info: ModelInfo }>,
    /** Folders of modelsDir that hold a model.json but could not be read, with why (the server logs them). */
    readonly skipped: readonly { dir: string; reason: string }[],
  ) {}

  /**
   * Reads the models' advkit.json files. A model without advkit.json is loaded once to learn its input shape
   * and classes, which needs a tfjs backend (the serve command starts one first); a folder that fails to load
   * is skipped and listed in `skipped` rather than stopping the server.
   */
  static async open(opts: { modelsDir?: string }): Promise<ModelCatalog> {
    const entries = new Map<string, { dir: string; info: ModelInfo }>();
    const skipped: { dir: string; reason: string }[] = [];
    const roots: [string, ModelInfo['source']][] = [[path.join(packageRoot(), 'models'), 'bundled']];
    if (opts.modelsDir !== undefined) {
      const dir = path.resolve(opts.modelsDir);
      const stat = await fs.stat(dir).catch(() => null);
      if (stat === null || !stat.isDirectory()) {
        throw new AdvkitError(
          'NOT_FOUND',
          `--models: ${dir} is not a directory; expected a folder whose subfolders each hold a model (model.json).`,
        );
      }
      roots.push([dir, 'models-dir']);
    }
    for (const [root, source] of roots) {
      const names = (await fs.readdir(root, { withFileTypes: true }))
        .filter((e) => e.isDirectory() && NAME.test(e.name) && !e.name.includes('..'))
        .map((e) => e.name)
        .sort();
      for (const name of names) {
        const dir = path.join(root, name);
        if (!existsSync(path.join(dir, 'model.json'))) continue;
        try {
          entries.set(name, { dir, info: await readInfo(name, dir, source) });
        } catch (err) {
          skipped.push({ dir, reason: err instanceof Error ? err.message : String(err) });
        }
      }
    }
    return new ModelCatalog(entries, skipped);
  }

  /** Every served model, by name. */
  list(): ModelInfo[] {
    return [...this.entries.values()].map((e) => e.info).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One model's info; INVALID_ARGUMENT for a name that is a path, NOT_FOUND (with the known names) otherwise. */
  get(name: string): ModelInfo {
    return this.entry(name).info;
  }

  /** The directory of a served model, for a task's `model` field. */
  resolve(name: string): string {
    return this.entry(name).dir;
  }

  private entry(name: string): { dir: string; info: ModelInfo } {
    assertModelName(name);
    const found = this.entries.get(name);
    if (found === undefined) {
      throw new AdvkitError(
        'NOT_FOUND',
        `No model named '${name}'. The server has: ${[...this.entries.keys()].sort().join(', ') || 'none'}.`,
        { model: name },
      );
    }
    return found;
  }
}

/** Refuses anything that is not a plain model name (a path, `..`, an absolute path), before any lookup. */
export function assertModelName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name) || name.includes('..')) {
    throw invalidArgument(
      `model must be the name of a served model (letters, digits, '.', '_' and '-', at most 100; ` +
        `no paths), got ${JSON.stringify(name)}. GET /v1/models lists them.`,
      { option: 'model' },
    );
  }
}

async function readInfo(name: string, dir: string, source: ModelInfo['source']): Promise<ModelInfo> {
  const metadataFile = path.join(dir, METADATA_FILE);
  if (existsSync(metadataFile)) {
    const m = parseMetadata(await readJsonFile(metadataFile), metadataFile);
    return {
      name,
      ...(m.dataset !== undefined ? { dataset: m.dataset } : {}),
      inputShape: m.inputShape,
      classes: m.classNames,
      bounds: m.bounds,
      metrics: m.metrics ?? {},
      source,
      ...(m.notes !== undefined ? { notes: m.notes } : {}),
    };
  }
  // No advkit.json: the loader infers the shape and finds a labels file, exactly as a task will.
  const model = await loadClassifier(dir);
  try {
    return {
      name,
      inputShape: [...model.inputShape],
      classes: [...model.classNames],
      bounds: [...model.bounds],
      metrics: {},
      source,
    };
  } finally {
    model.dispose();
  }
}
