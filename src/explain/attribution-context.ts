import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError } from '../errors.js';
import type { Cost, CountedModel } from '../models/counted-model.js';
import type { Model } from '../models/model.js';
import { Rng } from '../util/rng.js';
import { mixSeed } from '../util/seeded-math-random.js';
import { YieldThrottle } from '../util/yield-throttle.js';
import type { AttributionContext, TargetGradient } from './types.js';

export interface BatchSettings {
  counted: CountedModel;
  x: tf.Tensor4D;
  targets: Int32Array;
  layer: string | undefined;
  /** The run's seed and the index of this batch's first row in the whole run. */
  seed: number;
  offset: number;
  batchSize: number;
  signal?: AbortSignal;
  /** Fraction 0..1 of this batch done. */
  onStep?: (fraction: number) => void;
}

/** Each row's target logit: sum(logits * onehot(targets)). */
function targetLogit(logits: tf.Tensor2D, targets: Int32Array): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.mul(logits, tf.oneHot(tf.tensor1d(targets, 'int32'), logits.shape[1])), 1));
}

/** The targets of the rows `rows` of the batch. */
function targetsOf(targets: Int32Array, rows: Int32Array): Int32Array {
  return rows.map((r) => targets[r]);
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new AdvkitError('ABORTED', 'The explanation was cancelled.');
}

/** One batch's access to the model, counted, with the targets applied (see AttributionContext). */
export class BatchAttributionContext implements AttributionContext {
  readonly model: Model;
  readonly x: tf.Tensor4D;
  readonly targets: Int32Array;
  readonly layer: string | undefined;
  readonly batchSize: number;
  private readonly counted: CountedModel;
  private readonly signal: AbortSignal | undefined;
  private readonly onStep: ((fraction: number) => void) | undefined;
  private readonly seed: number;
  private readonly offset: number;
  private readonly rngs = new Map<number, Rng>();
  private readonly throttle = new YieldThrottle();

  constructor(s: BatchSettings) {
    this.counted = s.counted;
    this.model = s.counted.model;
    this.x = s.x;
    this.targets = s.targets;
    this.layer = s.layer;
    this.seed = s.seed;
    this.offset = s.offset;
    this.batchSize = s.batchSize;
    this.signal = s.signal;
    this.onStep = s.onStep;
  }

  rowRng(row: number): Rng {
    let rng = this.rngs.get(row);
    if (rng === undefined) {
      rng = new Rng(mixSeed(this.seed, this.offset + row));
      this.rngs.set(row, rng);
    }
    return rng;
  }

  targetLogits(x: tf.Tensor4D, rows: Int32Array): tf.Tensor1D {
    const logits = this.counted.logits(x);
    const out = targetLogit(logits, targetsOf(this.targets, rows));
    logits.dispose();
    return out;
  }

  targetGradient(x: tf.Tensor4D, rows: Int32Array): TargetGradient {
    const targets = targetsOf(this.targets, rows);
    const pass = this.counted.gradient(x, (logits) => targetLogit(logits, targets));
    pass.logits.dispose();
    return { logit: pass.loss, grad: pass.grad };
  }

  count(cost: Partial<Cost>): void {
    this.counted.cost.gradients += cost.gradients ?? 0;
    this.counted.cost.queries += cost.queries ?? 0;
  }

  async yieldStep(done: number, total: number): Promise<void> {
    await this.throttle.tick(() => this.onStep?.(total > 0 ? Math.min(1, done / total) : 1));
    throwIfAborted(this.signal);
  }
}

/** Row indices that repeat each of `n` rows `copies` times, copy-major: [0..n-1, 0..n-1, ...]. */
export function repeatedRows(n: number, copies: number): Int32Array {
  const rows = new Int32Array(n * copies);
  for (let k = 0; k < copies; k++) for (let i = 0; i < n; i++) rows[k * n + i] = i;
  return rows;
}
