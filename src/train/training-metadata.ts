import type { ImageDataset } from '../data/dataset.js';
import type { ClassifierMetadata } from '../models/metadata.js';
import type { TrainResult } from './train.js';

/**
 * The advkit.json fields that record how a model was trained, for saveClassifier's `extra`: the resolved
 * options (every default spelled out, so that the same options reproduce the run; for a robust model
 * `adversarial` says how it was hardened, and noiseSigma the Gaussian noise augmentation, 0 when none), the data, the backend, the per-epoch history, the FGSM-RS guard's
 * outcome and the final metrics (with adversarial training also the clean and adversarial training accuracy
 * of the epoch the weights come from, and the guard's robust accuracy).
 */
export function trainingMetadata(
  result: TrainResult,
  data: ImageDataset,
  opts: { backend?: string; test?: { accuracy: number; count: number } } = {},
): Pick<ClassifierMetadata, 'dataset' | 'seed' | 'training' | 'metrics'> {
  const metrics: Record<string, number> = { trainLoss: result.loss, trainAccuracy: result.accuracy };
  const final = result.final;
  if (final?.cleanAccuracy !== undefined) metrics.trainCleanAccuracy = final.cleanAccuracy;
  if (final?.adversarialAccuracy !== undefined) metrics.trainAdversarialAccuracy = final.adversarialAccuracy;
  if (final?.robustAccuracy !== undefined) metrics.guardRobustAccuracy = final.robustAccuracy;
  if (opts.test !== undefined) {
    metrics.testAccuracy = opts.test.accuracy;
    metrics.testCount = opts.test.count;
  }
  return {
    dataset: data.name,
    seed: result.options.seed,
    training: {
      ...result.options,
      noiseSigma: result.options.noiseSigma ?? 0,
      data: data.name,
      split: data.split,
      ...(opts.backend !== undefined ? { backend: opts.backend } : {}),
      seconds: Math.round(result.seconds),
      history: result.history,
      ...(result.guard !== undefined ? { guard: result.guard } : {}),
    },
    metrics,
  };
}
