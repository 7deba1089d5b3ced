import type { ImageDataset } from '../data/dataset.js';
import type { ClassifierMetadata } from '../models/metadata.js';
import type { TrainResult } from './train.js';

/**
 * The advkit.json fields that record how a model was trained, for saveClassifier's `extra`: the resolved
 * options (every default spelled out, so that the same options reproduce the run), the data, the backend,
 * the per-epoch history and the final metrics.
 */
export function trainingMetadata(
  result: TrainResult,
  data: ImageDataset,
  opts: { backend?: string; test?: { accuracy: number; count: number } } = {},
): Pick<ClassifierMetadata, 'dataset' | 'seed' | 'training' | 'metrics'> {
  const metrics: Record<string, number> = { trainLoss: result.loss, trainAccuracy: result.accuracy };
  if (opts.test !== undefined) {
    metrics.testAccuracy = opts.test.accuracy;
    metrics.testCount = opts.test.count;
  }
  return {
    dataset: data.name,
    seed: result.options.seed,
    training: {
      ...result.options,
      data: data.name,
      split: data.split,
      ...(opts.backend !== undefined ? { backend: opts.backend } : {}),
      seconds: Math.round(result.seconds),
      history: result.history,
    },
    metrics,
  };
}
