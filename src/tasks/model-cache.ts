import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Classifier } from '../models/classifier.js';
import { loadClassifier } from '../models/node/load-classifier.js';
import { LruMap } from '../util/lru-map.js';

/**
 * Classifiers kept open between task runs, for a process that runs many small tasks on the same models (a server's
 * compute thread): loading the MNIST CNN costs 8 ms and the CIFAR CNN 130 ms per request, 10x the forward pass
 * (bench/serve). Off by default: the CLI runs one task and frees everything. A model is reloaded when its model.json
 * changes on disk; beyond `max` models the least recently used one is freed.
 */
interface Entry {
  model: Classifier;
  stamp: string;
}

let open: LruMap<string, Entry> | undefined;

/** Keeps up to `max` models open across `openModel` calls in this thread (0 turns the cache off and frees it). */
export function keepModelsOpen(max: number): void {
  const previous = open;
  open = max > 0 ? new LruMap<string, Entry>(max, (e) => e.model.dispose()) : undefined;
  for (const e of previous?.clear() ?? []) e.model.dispose();
}

/**
 * The classifier in `dir`: from the cache when it is on and no labels file overrides the model's own (a cached
 * model's `dispose` does nothing: the cache owns it); otherwise freshly loaded, for the caller to dispose.
 */
export async function loadCachedClassifier(dir: string, labels?: string): Promise<Classifier> {
  if (open === undefined || labels !== undefined)
    return loadClassifier(dir, labels !== undefined ? { labels } : undefined);
  const cache = open;
  const key = path.resolve(dir);
  const stamp = await modelStamp(key);
  const hit = cache.get(key);
  if (hit !== undefined && hit.stamp === stamp) return borrowed(hit.model);
  hit?.model.dispose();
  cache.delete(key);
  const model = await loadClassifier(dir);
  cache.set(key, { model, stamp });
  return borrowed(model);
}

/** When model.json (or the directory given as one) last changed: a replaced model is loaded again. */
async function modelStamp(dir: string): Promise<string> {
  const file = dir.endsWith('.json') ? dir : path.join(dir, 'model.json');
  const s = await stat(file).catch(() => null);
  return s === null ? 'missing' : `${s.mtimeMs}:${s.size}`;
}

/** The cached model as the task sees it: everything but dispose, which the cache keeps for itself. */
function borrowed(model: Classifier): Classifier {
  return new Proxy(model, {
    get(target, key) {
      if (key === 'dispose') return () => undefined;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
