import type { Rng } from '../util/rng.js';

/**
 * The random-search steps of the Square attack (Andriushchenko, Croce, Flammarion & Hein 2020, "Square Attack: a
 * query-efficient black-box adversarial attack via random search"), one example at a time on flat NHWC rows:
 * the initialisations, the schedule of the square's size and the candidate updates for Linf (Algorithm 2) and
 * L2 (Algorithm 3). Windows are drawn uniformly over every position that fits in the image, as the paper's
 * sampling of r, s in {0, ..., w - h} says.
 */
export interface ImageShape {
  h: number;
  w: number;
  c: number;
}

export type Bounds = readonly [number, number];

/** Iterations (out of 10,000) at which the paper's schedule halves p. */
const HALVINGS = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000];

/**
 * p at iteration `it` of a budget of `budget` queries: pInit halved at iterations 10, 50, 200, 500, 1000, 2000,
 * 4000, 6000 and 8000 of a 10,000-query run, the schedule rescaled to the budget (as the reference code does).
 */
export function squareFraction(pInit: number, it: number, budget: number): number {
  const scaled = Math.floor((it / budget) * 10000);
  let halvings = 0;
  for (const at of HALVINGS) if (scaled > at) halvings++;
  return pInit / 2 ** halvings;
}

/**
 * The side of the square changing a fraction p of the input values: round(sqrt(p * h * w)), at least 1 (Linf)
 * or at least 3 and odd (L2, whose update is a pair of opposite bumps), at most the image's side.
 */
export function squareSide(p: number, shape: ImageShape, norm: 'linf' | 'l2'): number {
  let s = Math.round(Math.sqrt(p * shape.h * shape.w));
  if (norm === 'linf') s = Math.max(s, 1);
  else {
    s = Math.max(s, 3);
    if (s % 2 === 0) s += 1;
  }
  return Math.min(s, shape.h, shape.w);
}

function clip(v: number, bounds: Bounds): number {
  return v < bounds[0] ? bounds[0] : v > bounds[1] ? bounds[1] : v;
}

function sign(rng: Rng): number {
  return rng.next() < 0.5 ? -1 : 1;
}

/** Linf initialisation: vertical stripes, one random sign of +-eps per column and channel (the paper's sec. 3.1). */
export function initLinf(
  x: Float32Array,
  out: Float32Array,
  shape: ImageShape,
  eps: number,
  bounds: Bounds,
  rng: Rng,
): void {
  const { h, w, c } = shape;
  const signs = new Float64Array(w * c);
  for (let k = 0; k < signs.length; k++) signs[k] = sign(rng) * eps;
  for (let y = 0; y < h; y++) {
    for (let k = 0; k < w * c; k++) {
      const j = y * w * c + k;
      out[j] = clip(x[j] + signs[k], bounds);
    }
  }
}

/**
 * Linf candidate (Algorithm 2): `best` with one random square of side s set to x +- eps, one sign per channel.
 * Signs that would leave the square unchanged are redrawn (as the reference code does), so no query is wasted.
 */
export function proposeLinf(
  x: Float32Array,
  best: Float32Array,
  out: Float32Array,
  shape: ImageShape,
  eps: number,
  bounds: Bounds,
  side: number,
  rng: Rng,
): void {
  const { h, w, c } = shape;
  out.set(best);
  const top = rng.int(h - side + 1);
  const left = rng.int(w - side + 1);
  const values = new Float64Array(c);
  for (let attempt = 0; attempt < MAX_REDRAWS; attempt++) {
    for (let ch = 0; ch < c; ch++) values[ch] = sign(rng) * eps;
    let changed = false;
    for (let y = top; y < top + side; y++) {
      for (let xx = left; xx < left + side; xx++) {
        const base = (y * w + xx) * c;
        for (let ch = 0; ch < c; ch++) {
          const v = clip(x[base + ch] + values[ch], bounds);
          out[base + ch] = v;
          if (Math.abs(v - best[base + ch]) >= 1e-7) changed = true;
        }
      }
    }
    if (changed) return;
  }
}

/** Redraws of a Linf square's signs before accepting an unchanged candidate (only possible when eps is 0). */
const MAX_REDRAWS = 16;

/**
 * The L2 bump on an s x s square (the paper's eta, sec. 3.2): two opposite halves, each a sum of concentric
 * rectangles weighted 1 / (k + 1)^2, unit L2 norm, transposed with probability 1/2. Row-major s * s.
 */
export function squareBump(s: number, rng: Rng): Float64Array {
  const top = rectangles(Math.floor(s / 2), s);
  const bottom = rectangles(s - Math.floor(s / 2), s);
  const bump = new Float64Array(s * s);
  bump.set(top);
  for (let k = 0; k < bottom.length; k++) bump[top.length + k] = -bottom[k];
  normalize(bump);
  if (rng.next() > 0.5) {
    for (let i = 0; i < s; i++) {
      for (let j = i + 1; j < s; j++) {
        const t = bump[i * s + j];
        bump[i * s + j] = bump[j * s + i];
        bump[j * s + i] = t;
      }
    }
  }
  return bump;
}

/** Concentric rectangles around the centre of an a x b block, the k-th (from the centre) weighted 1/(k+1)^2. */
function rectangles(a: number, b: number): Float64Array {
  const out = new Float64Array(a * b);
  const ca = Math.floor(a / 2);
  const cb = Math.floor(b / 2);
  for (let k = 0; k < Math.max(ca + 1, cb + 1); k++) {
    const weight = 1 / (k + 1) ** 2;
    const r0 = Math.max(ca - k, 0);
    const r1 = Math.min(ca - k + 2 * k + 1, a);
    const c0 = Math.max(cb - k, 0);
    const c1 = Math.min(cb - k + 2 * k + 1, b);
    for (let r = r0; r < r1; r++) for (let col = c0; col < c1; col++) out[r * b + col] += weight;
  }
  normalize(out);
  return out;
}

function normalize(v: Float64Array): void {
  let sum = 0;
  for (const value of v) sum += value * value;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let k = 0; k < v.length; k++) v[k] /= norm;
}

/**
 * L2 initialisation (the paper's sec. 3.2): a grid of bumps of side floor(h / 5), each with a random sign per
 * channel, scaled to L2 norm eps and clipped to the bounds.
 */
export function initL2(
  x: Float32Array,
  out: Float32Array,
  shape: ImageShape,
  eps: number,
  bounds: Bounds,
  rng: Rng,
): void {
  const { h, w, c } = shape;
  const delta = new Float64Array(h * w * c);
  const s = Math.max(1, Math.floor(Math.min(h, w) / 5));
  const startH = Math.floor((h - 5 * s) / 2);
  const startW = Math.floor((w - 5 * s) / 2);
  for (let i = 0; i < Math.floor(h / s); i++) {
    for (let j = 0; j < Math.floor(w / s); j++) {
      const bump = squareBump(s, rng);
      const signs = Array.from({ length: c }, () => sign(rng));
      addBump(delta, shape, startH + i * s, startW + j * s, s, bump, signs);
    }
  }
  writeOnSphere(x, delta, out, eps, bounds);
}

function addBump(
  delta: Float64Array,
  shape: ImageShape,
  top: number,
  left: number,
  s: number,
  bump: Float64Array,
  signs: number[],
): void {
  const { h, w, c } = shape;
  for (let u = 0; u < s && top + u < h; u++) {
    for (let v = 0; v < s && left + v < w; v++) {
      const base = ((top + u) * w + left + v) * c;
      for (let ch = 0; ch < c; ch++) delta[base + ch] += bump[u * s + v] * signs[ch];
    }
  }
}

/** out = clip(x + eps * delta / ||delta||_2): every L2 candidate lies on the eps-sphere before clipping. */
function writeOnSphere(
  x: Float32Array,
  delta: Float64Array,
  out: Float32Array,
  eps: number,
  bounds: Bounds,
): void {
  let sum = 0;
  for (const v of delta) sum += v * v;
  const scale = eps / (Math.sqrt(sum) + 1e-12);
  for (let j = 0; j < delta.length; j++) out[j] = clip(x[j] + delta[j] * scale, bounds);
}

/**
 * L2 candidate (Algorithm 3 with the reference code's details): in a random window W1 of side s, per channel,
 * the current perturbation (normalised) plus a new bump of random sign; a second random window W2 is emptied
 * and its mass, with the budget still unused (eps^2 - ||delta||^2) / c, goes into W1. The whole perturbation
 * is then rescaled onto the eps-sphere and clipped to the bounds.
 */
export function proposeL2(
  x: Float32Array,
  best: Float32Array,
  out: Float32Array,
  shape: ImageShape,
  eps: number,
  bounds: Bounds,
  side: number,
  rng: Rng,
): void {
  const { h, w, c } = shape;
  const delta = new Float64Array(best.length);
  let imageNorm2 = 0;
  for (let j = 0; j < delta.length; j++) {
    delta[j] = best[j] - x[j];
    imageNorm2 += delta[j] * delta[j];
  }
  const top1 = rng.int(h - side + 1);
  const left1 = rng.int(w - side + 1);
  const top2 = rng.int(h - side + 1);
  const left2 = rng.int(w - side + 1);
  const inW1 = (y: number, xx: number): boolean =>
    y >= top1 && y < top1 + side && xx >= left1 && xx < left1 + side;
  // Per channel: the mass of delta in W1, and in the union of both windows.
  const w1Norm2 = new Float64Array(c);
  const unionNorm2 = new Float64Array(c);
  forWindow(top1, left1, side, w, c, (j, ch) => {
    w1Norm2[ch] += delta[j] * delta[j];
  });
  unionNorm2.set(w1Norm2);
  for (let y = top2; y < top2 + side; y++) {
    for (let xx = left2; xx < left2 + side; xx++) {
      if (inW1(y, xx)) continue;
      const base = (y * w + xx) * c;
      for (let ch = 0; ch < c; ch++) unionNorm2[ch] += delta[base + ch] * delta[base + ch];
    }
  }
  const bump = squareBump(side, rng);
  const signs = Array.from({ length: c }, () => sign(rng));
  const update = new Float64Array(side * side * c);
  const updateNorm2 = new Float64Array(c);
  forWindow(top1, left1, side, w, c, (j, ch, k) => {
    const v = bump[Math.floor(k / c)] * signs[ch] + delta[j] / (Math.sqrt(w1Norm2[ch]) + 1e-12);
    update[k] = v;
    updateNorm2[ch] += v * v;
  });
  const unused = Math.max(eps * eps - imageNorm2, 0) / c;
  forWindow(top2, left2, side, w, c, (j) => {
    delta[j] = 0;
  });
  forWindow(top1, left1, side, w, c, (j, ch, k) => {
    delta[j] = (update[k] / Math.sqrt(updateNorm2[ch])) * Math.sqrt(unused + unionNorm2[ch]);
  });
  writeOnSphere(x, delta, out, eps, bounds);
}

/** Visits the values of a window: flat index in the image, channel, and index within the window (row-major). */
function forWindow(
  top: number,
  left: number,
  side: number,
  w: number,
  c: number,
  visit: (j: number, ch: number, k: number) => void,
): void {
  let k = 0;
  for (let y = top; y < top + side; y++) {
    for (let xx = left; xx < left + side; xx++) {
      const base = (y * w + xx) * c;
      for (let ch = 0; ch < c; ch++) visit(base + ch, ch, k++);
    }
  }
}
