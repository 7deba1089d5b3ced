import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../errors.js';

/**
 * What a network expects to be done to a pixel-space input before it sees it: ((x * scale) - mean) / std,
 * per channel. The Classifier applies it inside logits(), so attack budgets are always in pixel space.
 */
export interface Preprocessing {
  scale?: number;
  mean?: number[];
  std?: number[];
}

function isNumberArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'number');
}

/**
 * Reads a Preprocessing from untrusted JSON (advkit.json, CLI flags). Only the known fields are kept;
 * a wrong type throws INVALID_ARGUMENT naming `source`.
 */
export function parsePreprocessing(value: unknown, source: string): Preprocessing {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(`${source}: preprocessing must be an object like {"scale":1,"mean":[..],"std":[..]}.`);
  }
  const out: Preprocessing = {};
  const record = value as Record<string, unknown>;
  if (record.scale !== undefined) {
    if (typeof record.scale !== 'number') throw invalidArgument(`${source}: preprocessing.scale must be a number.`);
    out.scale = record.scale;
  }
  for (const field of ['mean', 'std'] as const) {
    const v = record[field];
    if (v === undefined) continue;
    if (!isNumberArray(v)) throw invalidArgument(`${source}: preprocessing.${field} must be an array of numbers.`);
    out[field] = v;
  }
  return out;
}

/** Checks a Preprocessing against the number of input channels; throws INVALID_ARGUMENT naming the field. */
export function validatePreprocessing(p: Preprocessing, channels: number): Preprocessing {
  if (p.scale !== undefined && !(Number.isFinite(p.scale) && p.scale !== 0)) {
    throw invalidArgument(`preprocessing.scale must be a finite non-zero number, got ${p.scale}.`);
  }
  for (const field of ['mean', 'std'] as const) {
    const values = p[field];
    if (values === undefined) continue;
    if (!Array.isArray(values) || (values.length !== 1 && values.length !== channels)) {
      throw invalidArgument(
        `preprocessing.${field} must be an array of 1 or ${channels} numbers (one per channel), got ${JSON.stringify(values)}.`,
      );
    }
    for (const v of values) {
      if (typeof v !== 'number' || !Number.isFinite(v) || (field === 'std' && v <= 0)) {
        throw invalidArgument(
          `preprocessing.${field} values must be finite numbers${field === 'std' ? ' > 0' : ''}, got ${JSON.stringify(values)}.`,
        );
      }
    }
  }
  return p;
}

/** True when the preprocessing does nothing (so logits() can skip it). */
function isIdentityPreprocessing(p: Preprocessing): boolean {
  return (
    (p.scale === undefined || p.scale === 1) &&
    (p.mean === undefined || p.mean.every((v) => v === 0)) &&
    (p.std === undefined || p.std.every((v) => v === 1))
  );
}

/** Applies ((x * scale) - mean) / std over the last (channel) axis of an NHWC batch. Caller disposes. */
export function applyPreprocessing(x: tf.Tensor4D, p: Preprocessing): tf.Tensor4D {
  if (isIdentityPreprocessing(p)) return x.clone();
  return tf.tidy(() => {
    let y: tf.Tensor4D = x;
    if (p.scale !== undefined && p.scale !== 1) y = tf.mul(y, p.scale);
    if (p.mean !== undefined) y = tf.sub(y, tf.tensor1d(p.mean));
    if (p.std !== undefined) y = tf.div(y, tf.tensor1d(p.std));
    return y;
  });
}
