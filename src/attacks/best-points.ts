import * as tf from '@tensorflow/tfjs-core';
import { gatherRows, indicesWhere } from '../util/rows.js';

/**
 * The best point per example of a batch over the runs of an attack (restarts, target classes, the iterates of
 * one run): a point that meets the goal is final; until then, the point of highest score (the attack's loss,
 * oriented so that higher is better). Kept on the host, so that only the rows being kept are downloaded. Used
 * by the iterative engine, APGD and Square; FAB keeps the closest adversarial instead (see fab.ts).
 */
export class BestPoints {
  private readonly points: Float32Array;
  private readonly scores: Float64Array;
  private readonly done: Uint8Array;
  private readonly dim: number;
  private readonly shape: [number, number, number, number];

  /** Starts from the clean inputs; `met` marks the examples whose clean prediction already meets the goal. */
  constructor(x: tf.Tensor4D, met?: Uint8Array) {
    this.shape = x.shape;
    this.dim = x.size / Math.max(x.shape[0], 1);
    this.points = Float32Array.from(x.dataSync());
    this.scores = new Float64Array(x.shape[0]).fill(-Infinity);
    this.done = met ? Uint8Array.from(met) : new Uint8Array(x.shape[0]);
  }

  /** The examples that do not meet the goal yet. */
  pending(): Int32Array {
    return indicesWhere(this.done, 0);
  }

  /**
   * Offers points[i] (a tensor, or the rows' values one after another) for example rows[i]: kept as final where
   * adversarial[i] is 1; else, given scores, kept where the example is not final and scores[i] beats its best.
   */
  record(
    points: tf.Tensor4D | Float32Array,
    rows: Int32Array,
    adversarial: Uint8Array | null,
    scores: ArrayLike<number> | null,
  ): void {
    const chosen: number[] = [];
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      if (adversarial?.[i] === 1) {
        this.done[r] = 1;
        chosen.push(i);
      } else if (scores !== null && this.done[r] === 0 && scores[i] > this.scores[r]) {
        this.scores[r] = scores[i];
        chosen.push(i);
      }
    }
    if (chosen.length === 0) return;
    const picked = Int32Array.from(chosen);
    if (points instanceof Float32Array) {
      picked.forEach((i) => this.keep(rows[i], points.subarray(i * this.dim, (i + 1) * this.dim)));
      return;
    }
    const kept = gatherRows(points, picked);
    const values = kept.dataSync();
    kept.dispose();
    picked.forEach((i, k) => this.keep(rows[i], values.subarray(k * this.dim, (k + 1) * this.dim)));
  }

  result(): tf.Tensor4D {
    return tf.tensor4d(this.points, this.shape);
  }

  private keep(row: number, values: ArrayLike<number>): void {
    this.points.set(values, row * this.dim);
  }
}
