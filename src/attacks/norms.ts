import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';
import type { Norm } from './types.js';

/** Per-example norms of a batch [n, ...] as a tensor [n]. */
export function batchNorm(t: tf.Tensor, norm: Norm): tf.Tensor1D {
  return tf.tidy((): tf.Tensor1D => {
    const flat = tf.reshape(t, [t.shape[0], -1]);
    switch (norm) {
      case 'linf':
        return tf.max(tf.abs(flat), 1);
      case 'l2':
        return tf.sqrt(tf.sum<tf.Tensor1D>(tf.square(flat), 1));
      case 'l1':
        return tf.sum(tf.abs(flat), 1);
    }
  });
}

/** Scales each example of `t` by `scale[i]` (a [n] tensor). */
export function scaleRows<T extends tf.Tensor>(t: T, scale: tf.Tensor1D): T {
  return tf.tidy(() => tf.mul(t, tf.reshape(scale, [t.shape[0], ...t.shape.slice(1).map(() => 1)])));
}

/**
 * Projects x + delta onto the eps-ball of `norm` around x and onto the bounds. Linf is the exact projection;
 * L2 scales delta into the ball and then clips to the bounds (clipping towards x stays in the ball); L1 is the
 * exact projection onto the intersection of the ball and the box (see projectL1Box).
 */
export function project(
  x: tf.Tensor4D,
  xAdv: tf.Tensor4D,
  eps: number,
  norm: Norm,
  bounds: readonly [number, number],
): tf.Tensor4D {
  if (!Number.isFinite(eps)) return tf.clipByValue(xAdv, bounds[0], bounds[1]);
  if (norm === 'l1') return projectL1Box(x, xAdv, eps, bounds);
  return tf.tidy((): tf.Tensor4D => {
    const delta: tf.Tensor4D = tf.sub(xAdv, x);
    let inBall: tf.Tensor4D;
    if (norm === 'linf') {
      inBall = tf.clipByValue(delta, -eps, eps);
    } else {
      const n = batchNorm(delta, 'l2');
      const factor: tf.Tensor1D = tf.minimum(1, tf.div(eps, tf.maximum(n, 1e-12)));
      inBall = scaleRows(delta, factor);
    }
    return tf.clipByValue(tf.add<tf.Tensor4D>(x, inBall), bounds[0], bounds[1]);
  });
}

/**
 * Exact Euclidean projection of z = xAdv - x onto {d : ||d||_1 <= eps, lo <= x + d <= hi} (Croce & Hein 2021,
 * "Mind the box: l1-APGD for sparse adversarial attacks on image classifiers", Lemma 1). The problem is
 * separable once the multiplier lambda of the L1 constraint is known: d_i = sign(z_i) * clip(|z_i| - lambda, 0,
 * u_i), with u_i the room left in the box in z_i's direction; lambda >= 0 is found by bisection so that the
 * L1 norm equals eps (or is 0 when the box-clipped z is already inside the ball).
 */
export function projectL1Box(
  x: tf.Tensor4D,
  xAdv: tf.Tensor4D,
  eps: number,
  bounds: readonly [number, number],
): tf.Tensor4D {
  const n = x.shape[0];
  const d = x.size / Math.max(n, 1);
  const xs = x.dataSync();
  const delta = tf.sub(xAdv, x);
  const zs = delta.dataSync();
  delta.dispose();
  const out = new Float32Array(x.size);
  const room = new Float32Array(d);
  const mag = new Float32Array(d);
  for (let i = 0; i < n; i++) {
    const off = i * d;
    let total = 0;
    let maxMag = 0;
    for (let j = 0; j < d; j++) {
      const z = zs[off + j];
      const u = z >= 0 ? bounds[1] - xs[off + j] : xs[off + j] - bounds[0];
      room[j] = Math.max(0, u);
      mag[j] = Math.abs(z);
      total += Math.min(mag[j], room[j]);
      if (mag[j] > maxMag) maxMag = mag[j];
    }
    let lambda = 0;
    if (total > eps) {
      let lo = 0;
      let hi = maxMag;
      for (let it = 0; it < 50; it++) {
        const mid = (lo + hi) / 2;
        let s = 0;
        for (let j = 0; j < d; j++) s += Math.min(Math.max(mag[j] - mid, 0), room[j]);
        if (s > eps) lo = mid;
        else hi = mid;
      }
      lambda = hi;
    }
    for (let j = 0; j < d; j++) {
      const step = Math.min(Math.max(mag[j] - lambda, 0), room[j]);
      const v = xs[off + j] + (zs[off + j] >= 0 ? step : -step);
      out[off + j] = Math.min(bounds[1], Math.max(bounds[0], v));
    }
  }
  return tf.tensor4d(out, x.shape);
}

/**
 * The steepest-ascent direction of unit norm for a gradient: sign(g) for Linf, g / ||g||_2 for L2. (L1's step is
 * sparse: see sparseL1Step.)
 */
export function normalizeGradient(g: tf.Tensor4D, norm: 'linf' | 'l2'): tf.Tensor4D {
  return tf.tidy(() => {
    if (norm === 'linf') return tf.sign(g);
    const n = batchNorm(g, 'l2');
    return scaleRows(g, tf.div(1, tf.maximum(n, 1e-12)));
  });
}

/**
 * The sparse L1 step of Croce & Hein 2021 ("Mind the box: l1-APGD for sparse adversarial attacks on image
 * classifiers", sec. 3): in row i, sign(g) on the counts[i] input values with the largest |g| (ties at the
 * threshold included), scaled so that the step's L1 length is stepSizes[i]. With `box` (the current point and
 * the bounds), values that cannot move in g's direction inside the box are not candidates, as in the paper;
 * without it every value is, as in l1-APGD's reference code (fra31/auto-attack), whose projection then clips.
 */
export function sparseL1Step(
  g: tf.Tensor4D,
  counts: Int32Array,
  stepSizes: Float32Array,
  box: { x: tf.Tensor4D; bounds: readonly [number, number] } | null,
): tf.Tensor4D {
  return tf.tidy(() => {
    const n = g.shape[0];
    const d = g.size / n;
    const flatG = tf.reshape(g, [n, d]);
    let score = tf.abs(flatG);
    if (box !== null) {
      const flatX = tf.reshape(box.x, [n, d]);
      const blocked = tf.logicalOr(
        tf.logicalAnd(tf.greaterEqual(flatX, box.bounds[1]), tf.greater(flatG, 0)),
        tf.logicalAnd(tf.lessEqual(flatX, box.bounds[0]), tf.less(flatG, 0)),
      );
      score = tf.where(blocked, tf.zerosLike(score), score);
    }
    const k = Int32Array.from(counts, (c) => Math.max(1, Math.min(d, c)));
    const kMax = Math.max(...k);
    // The counts[i]-th largest score of row i (oneHot needs a depth of 2 or more).
    const ranked = tf.topk(score, kMax).values;
    const ranks = tf.tensor1d(
      Int32Array.from(k, (c) => c - 1),
      'int32',
    );
    const threshold = kMax === 1 ? ranked : tf.sum(tf.mul(ranked, tf.oneHot(ranks, kMax)), 1, true);
    const chosen = tf.logicalAnd(tf.greaterEqual(score, threshold), tf.greater(score, 0));
    const u = tf.mul(tf.sign(flatG), tf.cast(chosen, 'float32'));
    const length = tf.maximum(tf.sum(tf.abs(u), 1, true), 1);
    return tf.reshape(tf.mul(tf.div(u, length), tf.reshape(tf.tensor1d(stepSizes), [n, 1])), g.shape);
  });
}

/**
 * A uniform random start in the eps-ball around x0 (randomInBall), projected onto the ball and the bounds: the
 * start of PGD (Madry et al. 2018) and of APGD for Linf and L2. FAB and l1-APGD start from other distributions
 * (their reference code's; see fab.ts and apgd-run.ts), TRADES from a small Gaussian (train/adversarial).
 */
export function randomStart(
  x0: tf.Tensor4D,
  eps: number,
  norm: Norm,
  bounds: readonly [number, number],
  rng: Rng,
): tf.Tensor4D {
  return tf.tidy(() => project(x0, tf.add(x0, randomInBall(x0.shape, eps, norm, rng)), eps, norm, bounds));
}

/**
 * A seeded uniform sample from the eps-ball of `norm`, shape [n, ...shape]: uniform per coordinate for Linf;
 * for L2 and L1 a direction (Gaussian, resp. Laplace-signed exponentials normalised) times eps * u^(1/d),
 * which is uniform in the ball's volume.
 */
export function randomInBall(shape: readonly number[], eps: number, norm: Norm, rng: Rng): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const n = shape[0];
  const d = size / Math.max(n, 1);
  const out = new Float32Array(size);
  if (norm === 'linf') {
    for (let i = 0; i < size; i++) out[i] = (2 * rng.next() - 1) * eps;
    return tf.tensor(out, [...shape]);
  }
  for (let i = 0; i < n; i++) {
    let total = 0;
    for (let j = 0; j < d; j++) {
      let v: number;
      if (norm === 'l2') {
        v = rng.normal();
        total += v * v;
      } else {
        v = -Math.log(1 - rng.next()) * (rng.next() < 0.5 ? -1 : 1);
        total += Math.abs(v);
      }
      out[i * d + j] = v;
    }
    const length = norm === 'l2' ? Math.sqrt(total) : total;
    const radius = eps * Math.pow(rng.next(), 1 / d);
    const scale = length > 0 ? radius / length : 0;
    for (let j = 0; j < d; j++) out[i * d + j] *= scale;
  }
  return tf.tensor(out, [...shape]);
}

/** Per-example L0, L1, L2 and Linf distances between two batches. */
export interface Distances {
  l0: Float32Array;
  l1: Float32Array;
  l2: Float32Array;
  linf: Float32Array;
}

/** Distances of xAdv from x. L0 counts the input values that changed by more than 1e-6 of the range. */
export function distances(x: tf.Tensor4D, xAdv: tf.Tensor4D, bounds: readonly [number, number]): Distances {
  const tol = 1e-6 * (bounds[1] - bounds[0]);
  const [l0, l1, l2, linf] = tf.tidy(() => {
    const delta = tf.reshape(tf.sub(xAdv, x), [x.shape[0], -1]);
    const abs = tf.abs(delta);
    return [
      tf.sum(tf.cast(tf.greater(abs, tol), 'float32'), 1),
      tf.sum(abs, 1),
      tf.sqrt(tf.sum(tf.square(delta), 1)),
      tf.max(abs, 1),
    ];
  });
  const result = {
    l0: Float32Array.from(l0.dataSync()),
    l1: Float32Array.from(l1.dataSync()),
    l2: Float32Array.from(l2.dataSync()),
    linf: Float32Array.from(linf.dataSync()),
  };
  tf.dispose([l0, l1, l2, linf]);
  return result;
}
