import type * as tf from '@tensorflow/tfjs-core';
import type { Norm } from '../../attacks/types.js';
import type { Model } from '../../models/model.js';

/** What the checks that run an attack get: the points to attack (already sampled and capped by the caller). */
export interface AttackCheckInput {
  classifier: Model;
  /** The points to attack [m, h, w, c] within the bounds (the caller keeps ownership). */
  x: tf.Tensor4D;
  labels: Int32Array;
  norm: Norm;
  seed: number;
  /** Passes averaged per gradient on a randomized model (EOT, Athalye et al. 2018; default 1). */
  eot?: number;
  /** Examples per pass (runAttack's default when not given). */
  batchSize?: number;
  signal?: AbortSignal;
  /** Fraction 0..1 of the check's attack done. */
  onProgress?: (fraction: number) => void;
}
