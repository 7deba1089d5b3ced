import type { ImageDataset } from '../data/dataset.js';
import { invalidArgument } from '../errors.js';
import { crc32, type DataFingerprint, type TrainingCheckpoint } from './checkpoint.js';
import { RESUME_FREE_OPTIONS, type ResolvedTrainOptions } from './options.js';

export function fingerprintData(data: ImageDataset): DataFingerprint {
  const labelBytes = new Uint8Array(data.labels.buffer, data.labels.byteOffset, data.labels.byteLength);
  return {
    name: data.name,
    split: data.split,
    count: data.count,
    shape: [data.height, data.width, data.channels],
    crc32: crc32(data.pixels, crc32(labelBytes)),
  };
}

/** JSON with object keys sorted, so that equal values compare equal whatever order their keys were set in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/**
 * Throws INVALID_ARGUMENT listing every difference when a checkpoint belongs to another run: other options
 * (except those that do not change the trajectory), another architecture or weight shapes, or other data.
 */
export function assertCheckpointMatches(
  ckpt: TrainingCheckpoint,
  current: Pick<TrainingCheckpoint, 'options' | 'model' | 'data'>,
  location: string,
): void {
  const problems: string[] = [];
  const keys = new Set([...Object.keys(ckpt.options), ...Object.keys(current.options)]) as Set<
    keyof ResolvedTrainOptions
  >;
  for (const key of keys) {
    if (RESUME_FREE_OPTIONS.includes(key)) continue;
    const before = canonical(ckpt.options[key]);
    const now = canonical(current.options[key]);
    if (before !== now) problems.push(`option ${key} was ${before ?? 'unset'}, now ${now ?? 'unset'}`);
  }
  if (ckpt.model.architecture !== current.model.architecture) {
    problems.push(`architecture was '${ckpt.model.architecture}', now '${current.model.architecture}'`);
  }
  if (
    canonical(ckpt.model.architectureOptions ?? {}) !== canonical(current.model.architectureOptions ?? {})
  ) {
    problems.push(
      `architecture options were ${canonical(ckpt.model.architectureOptions ?? {})}, now ${canonical(current.model.architectureOptions ?? {})}`,
    );
  }
  if (canonical(ckpt.model.weightShapes) !== canonical(current.model.weightShapes)) {
    problems.push(
      `the model's weight shapes differ (${ckpt.model.weightShapes.length} vs ${current.model.weightShapes.length} weights)`,
    );
  }
  const [a, b] = [ckpt.data, current.data];
  if (canonical(a) !== canonical(b)) {
    problems.push(
      `the data was '${a.name}' (${a.split}, ${a.count} images, crc ${a.crc32.toString(16)}), now '${b.name}' (${b.split}, ${b.count} images, crc ${b.crc32.toString(16)})`,
    );
  }
  if (problems.length > 0) {
    throw invalidArgument(
      `Checkpoint ${location} belongs to a different run: ${problems.join('; ')}. Resume with the original model, data and options, or delete the checkpoint to start afresh.`,
      { checkpoint: location },
    );
  }
}
