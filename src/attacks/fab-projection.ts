import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError } from '../errors.js';
import type { Norm } from './types.js';

/**
 * The projections of the Fast Adaptive Boundary attack (Croce & Hein 2020, "Minimally distorted adversarial
 * examples with a fast adaptive boundary attack": projection onto a hyperplane with box constraints): for each
 * row i, the smallest step d (in `norm`) that moves points[i] onto the hyperplane {z : w[i].z = b[i]} while
 * staying inside the box [lo, hi]. When the box keeps the hyperplane out of reach, the step goes to the box
 * corner closest to it (the one minimising |w.z - b|), as the reference implementation does.
 *
 * Every optimal step moves each coordinate towards the hyperplane, by m_j >= 0 and at most the room r_j the box
 * leaves in that direction, with sum_j |w_j| m_j = |w.t - b|:
 *   Linf: m_j = min(theta, r_j)         (one common magnitude, capped by the box)
 *   L2:   m_j = min(theta * |w_j|, r_j) (the KKT point: d proportional to w where the box does not bind)
 *   L1:   the coordinates with the largest |w_j| first, each up to r_j (a linear program solved greedily).
 * theta is found exactly by sorting the breakpoints where the coordinates reach the box. Rows are
 * independent; the inputs are [m, d] points and normals and [m] offsets; returns the steps [m, d].
 */
export function projectOntoHyperplaneBox(
  points: tf.Tensor2D,
  w: tf.Tensor2D,
  b: tf.Tensor1D,
  norm: Norm,
  bounds: readonly [number, number],
): tf.Tensor2D {
  const [m, d] = points.shape;
  if (d > INDEX_RANGE) {
    throw new AdvkitError(
      'UNSUPPORTED',
      `FAB's projection handles inputs of up to ${INDEX_RANGE} values per example, got ${d}.`,
    );
  }
  const ts = points.dataSync();
  const ws = w.dataSync();
  const bs = b.dataSync();
  const out = new Float32Array(m * d);
  const scratch = new Scratch(d);
  for (let i = 0; i < m; i++) {
    const off = i * d;
    projectRow(
      norm,
      ts.subarray(off, off + d),
      ws.subarray(off, off + d),
      bs[i],
      bounds,
      out.subarray(off, off + d),
      scratch,
    );
  }
  return tf.tensor2d(out, [m, d]);
}

/**
 * Buffers reused across rows, per coordinate: |w|, the room in the moving direction, the sort key, the sort
 * order and the magnitude of the move.
 */
class Scratch {
  readonly weight: Float64Array;
  readonly room: Float64Array;
  readonly key: Float64Array;
  readonly order: Uint32Array;
  readonly move: Float64Array;
  private readonly packed: Float64Array;
  private readonly bits = new Uint32Array(1);
  private readonly single = new Float32Array(this.bits.buffer);
  constructor(d: number) {
    this.weight = new Float64Array(d);
    this.room = new Float64Array(d);
    this.key = new Float64Array(d);
    this.order = new Uint32Array(d);
    this.move = new Float64Array(d);
    this.packed = new Float64Array(d);
  }

  /**
   * Sorts order[0..count) by ascending key (keys >= 0). A comparator sort is slow in V8; instead each entry
   * packs the key's float32 bit pattern (ordered like the key for keys >= 0) above its index into one exactly
   * representable double, and the doubles sort natively. Keys closer than float32's precision may come out
   * in either order, which moves the result by as little.
   */
  sortByKey(count: number): Uint32Array {
    const packed = this.packed.subarray(0, count);
    for (let k = 0; k < count; k++) {
      this.single[0] = this.key[this.order[k]];
      packed[k] = this.bits[0] * INDEX_RANGE + this.order[k];
    }
    packed.sort();
    const order = this.order.subarray(0, count);
    for (let k = 0; k < count; k++) order[k] = packed[k] % INDEX_RANGE;
    return order;
  }
}

/** Indices fit below 2^21, so a packed entry (31 bits of key above them) stays below 2^52. */
const INDEX_RANGE = 2 ** 21;

function projectRow(
  norm: Norm,
  t: ArrayLike<number>,
  w: ArrayLike<number>,
  b: number,
  [lo, hi]: readonly [number, number],
  out: Float32Array,
  s: Scratch,
): void {
  const d = t.length;
  let c = -b;
  for (let j = 0; j < d; j++) c += w[j] * t[j];
  if (c === 0) return;
  // Moving towards the hyperplane: coordinate j goes in the direction -sign(c * w_j).
  const sc = Math.sign(c);
  const gap = Math.abs(c);
  let reach = 0;
  let active = 0;
  for (let j = 0; j < d; j++) {
    const up = sc * w[j] < 0;
    s.weight[j] = Math.abs(w[j]);
    s.room[j] = s.weight[j] === 0 ? 0 : Math.max(0, up ? hi - t[j] : t[j] - lo);
    reach += s.weight[j] * s.room[j];
    if (s.weight[j] > 0) s.order[active++] = j;
  }
  const move = s.move;
  move.fill(0);
  if (reach <= gap) {
    // Out of reach inside the box: every coordinate goes all the way (the closest corner).
    for (let j = 0; j < d; j++) move[j] = s.room[j];
  } else if (norm === 'l1') {
    greedyL1(s, active, gap, move);
  } else {
    waterFill(s, active, gap, norm === 'l2', move);
  }
  for (let j = 0; j < d; j++) if (move[j] > 0) out[j] = sc * w[j] < 0 ? move[j] : -move[j];
}

/** L1: spend the gap on the coordinates with the largest |w_j| first (most progress per unit of L1). */
function greedyL1(s: Scratch, active: number, gap: number, move: Float64Array): void {
  for (let k = 0; k < active; k++) s.key[s.order[k]] = s.weight[s.order[k]];
  const order = s.sortByKey(active);
  let left = gap;
  for (let k = active - 1; k >= 0; k--) {
    const j = order[k];
    const full = s.weight[j] * s.room[j];
    if (full >= left) {
      move[j] = left / s.weight[j];
      return;
    }
    move[j] = s.room[j];
    left -= full;
  }
}

/**
 * Linf / L2: m_j = min(theta * scale_j, r_j) with scale_j = 1 (Linf) or |w_j| (L2). The progress
 * F(theta) = sum_j |w_j| m_j is piecewise linear and increasing; walking the breakpoints r_j / scale_j in
 * order finds the segment where F reaches the gap. The caller ensures F(infinity) > gap.
 */
function waterFill(s: Scratch, active: number, gap: number, l2: boolean, move: Float64Array): void {
  let slope = 0;
  for (let k = 0; k < active; k++) {
    const j = s.order[k];
    const scale = l2 ? s.weight[j] : 1;
    s.key[j] = s.room[j] / scale;
    slope += s.weight[j] * scale;
  }
  const order = s.sortByKey(active);
  // capped: progress of the coordinates already at the box; slope: d F / d theta of the others.
  let capped = 0;
  let theta = 0;
  for (const j of order) {
    const scale = l2 ? s.weight[j] : 1;
    if (capped + s.key[j] * slope >= gap) break;
    capped += s.weight[j] * s.room[j];
    slope -= s.weight[j] * scale;
    theta = s.key[j];
  }
  if (slope > 0) theta = Math.max(theta, (gap - capped) / slope);
  for (const j of order) move[j] = Math.min(theta * (l2 ? s.weight[j] : 1), s.room[j]);
}
