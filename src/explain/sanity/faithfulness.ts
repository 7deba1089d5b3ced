import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../../errors.js';
import type { Model } from '../../models/model.js';
import { checkSeed, Rng } from '../../util/rng.js';
import { mixSeed } from '../../util/seeded-math-random.js';
import { throwIfAborted } from '../attribution-context.js';
import { gaussianBlur } from '../gaussian-blur.js';
import { checkMaps, pixelScores } from './pixel-scores.js';

/** What replaces a pixel: the lower bound, mid-range grey, or the image blurred. */
export type ReplacementImage = 'black' | 'grey' | 'blur';

export interface DeletionInsertionOptions {
  /** Points of each curve beyond the first: pixels change in `steps` equal parts (default 20, 5% per step). */
  steps?: number;
  /** What deleted pixels become (default 'black', the lower bound, as in RISE). */
  deletionBaseline?: ReplacementImage;
  /** The image insertion starts from, before its pixels are put back (default 'blur', as in RISE). */
  insertionStart?: ReplacementImage;
  /** The standard deviation of the 'blur' image in pixels (default 5, RISE's). */
  blurSigma?: number;
  /** Random pixel orders averaged for the random-order baseline (default 1; 0 skips it). */
  randomOrders?: number;
  /** Seed of the random orders and of the random tie-breaks between equally attributed pixels (default 0). */
  seed?: number;
  /** Rows per forward pass (default 64). */
  batchSize?: number;
  signal?: AbortSignal;
}

/** One kind of curve (deletion or insertion) for every input, summarized. */
export interface FaithfulnessCurve {
  /**
   * Mean over the inputs of the area under the normalized curve (F(x_t) - F(r)) / (F(x) - F(r)), where F is the
   * target logit and r the image with every pixel replaced (the deletion baseline, or insertion's start): 1 at
   * the clean image, 0 at r, whatever the logit's offset. Inputs where F(x) = F(r) have no normalized curve
   * (NaN per input) and are left out of the mean. Deletion: lower is better; insertion: higher is better.
   */
  auc: number;
  aucPerInput: number[];
  /** Mean over the inputs of the area under the raw target logit (in logit units). */
  logitAuc: number;
  logitAucPerInput: number[];
  /** Mean over the inputs of the area under the target's softmax probability (RISE's score; for comparison). */
  probabilityAuc: number;
  probabilityAucPerInput: number[];
  /** The normalized curve, averaged over the inputs that have one; a value per point of `fractions`. */
  curve: number[];
  /** Per input, the target logit at each point of `fractions`. */
  logits: number[][];
}

/** Deletion and insertion (Petsiuk et al. 2018) of one set of maps, with the random-order baseline. */
export interface FaithfulnessResult {
  /** Fraction of the pixels deleted (or inserted) at each point of the curves, 0 to 1. */
  fractions: number[];
  /** The class whose logit is followed, per input. */
  targets: number[];
  deletion: FaithfulnessCurve;
  insertion: FaithfulnessCurve;
  /** The same curves for pixels taken in random order: a map worth its name beats them both ways. */
  random?: { deletion: FaithfulnessCurve; insertion: FaithfulnessCurve };
  /** insertion.auc - deletion.auc: one number, higher is better; compare it with the random order's. */
  score: number;
  /** The settings used, defaults filled in. */
  options: {
    steps: number;
    deletionBaseline: ReplacementImage;
    insertionStart: ReplacementImage;
    blurSigma: number;
    randomOrders: number;
    seed: number;
  };
  /** Forward passes spent (rows). */
  queries: number;
}

const REPLACEMENTS: readonly ReplacementImage[] = ['black', 'grey', 'blur'];

/** |F(x) - F(r)| at or below this has no normalized curve. */
const FLAT_SPAN = 1e-6;

function positiveInteger(value: number, name: string, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw invalidArgument(`deletionInsertion: ${name} must be an integer >= ${min}, got ${value}.`);
  }
  return value;
}

function replacement(value: unknown, name: string): ReplacementImage {
  if (!REPLACEMENTS.includes(value as ReplacementImage)) {
    throw invalidArgument(
      `deletionInsertion: ${name} must be one of ${REPLACEMENTS.map((r) => `'${r}'`).join(', ')}, got ${JSON.stringify(value)}.`,
    );
  }
  return value as ReplacementImage;
}

function replacementImage(model: Model, x: tf.Tensor4D, kind: ReplacementImage, sigma: number): tf.Tensor4D {
  const [lo, hi] = model.bounds;
  if (kind === 'blur') return gaussianBlur(x, sigma);
  return tf.fill(x.shape, kind === 'black' ? lo : (lo + hi) / 2);
}

/**
 * Per input, the position of each pixel in the order of decreasing score (0: first changed), equal scores in a
 * seeded random order so that a map with large flat areas (a zero background) is not read top-left first.
 */
function orderByScore(scores: Float32Array, n: number, pixels: number, seed: number): Int32Array[] {
  return Array.from({ length: n }, (_, i) => {
    const s = scores.subarray(i * pixels, (i + 1) * pixels);
    const tieBreak = new Rng(mixSeed(seed, i, 0)).permutation(pixels);
    const order = Int32Array.from({ length: pixels }, (_, p) => p);
    order.sort((a, b) => s[b] - s[a] || tieBreak[a] - tieBreak[b]);
    const position = new Int32Array(pixels);
    order.forEach((p, k) => (position[p] = k));
    return position;
  });
}

/** Per input, a seeded random position of each pixel (order `r` of the random baseline). */
function randomOrder(n: number, pixels: number, seed: number, r: number): Int32Array[] {
  return Array.from({ length: n }, (_, i) => new Rng(mixSeed(seed, i, r + 1)).permutation(pixels));
}

interface CurveValues {
  /** [n][points] target logits and probabilities. */
  logits: Float64Array[];
  probabilities: Float64Array[];
}

interface CurveJob {
  model: Model;
  /** The image each curve starts from, and the one whose pixels replace it in order. */
  from: tf.Tensor4D;
  to: tf.Tensor4D;
  positions: Int32Array[];
  /** Pixels replaced at each point. */
  counts: Int32Array;
  targets: Int32Array;
  batchSize: number;
  signal: AbortSignal | undefined;
}

/**
 * The target logit and probability of every image on the way from `from` to `to`: at point k, the first
 * counts[k] pixels of each input's order come from `to` (all channels), the rest from `from`. Every (input,
 * point) pair is a row, batched up to batchSize rows per pass.
 */
async function curveValues(job: CurveJob): Promise<CurveValues> {
  const [n, h, w] = job.from.shape;
  const pixels = h * w;
  const points = job.counts.length;
  const k = job.model.numClasses;
  const logits = Array.from({ length: n }, () => new Float64Array(points));
  const probabilities = Array.from({ length: n }, () => new Float64Array(points));
  const total = n * points;
  for (let start = 0; start < total; start += job.batchSize) {
    const m = Math.min(job.batchSize, total - start);
    const inputs = new Int32Array(m);
    const mask = new Float32Array(m * pixels);
    for (let row = 0; row < m; row++) {
      const i = Math.floor((start + row) / points);
      const count = job.counts[(start + row) % points];
      inputs[row] = i;
      const position = job.positions[i];
      for (let p = 0; p < pixels; p++) if (position[p] < count) mask[row * pixels + p] = 1;
    }
    const out = tf.tidy(() => {
      const index = tf.tensor1d(inputs, 'int32');
      const from = tf.gather(job.from, index);
      const to = tf.gather(job.to, index);
      const images = tf.add(from, tf.mul(tf.tensor4d(mask, [m, h, w, 1]), tf.sub(to, from))) as tf.Tensor4D;
      return job.model.logits(images);
    });
    const values = out.dataSync();
    out.dispose();
    for (let row = 0; row < m; row++) {
      const i = inputs[row];
      const point = (start + row) % points;
      const z = values.subarray(row * k, (row + 1) * k);
      let max = -Infinity;
      for (const v of z) max = Math.max(max, v);
      let sum = 0;
      for (const v of z) sum += Math.exp(v - max);
      const target = z[job.targets[i]];
      logits[i][point] = target;
      probabilities[i][point] = Math.exp(target - max) / sum;
    }
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    throwIfAborted(job.signal);
  }
  return { logits, probabilities };
}

/** The trapezoidal area under `values` over `fractions`. */
function area(values: ArrayLike<number>, fractions: readonly number[]): number {
  let sum = 0;
  for (let k = 1; k < fractions.length; k++) {
    sum += ((values[k] + values[k - 1]) / 2) * (fractions[k] - fractions[k - 1]);
  }
  return sum;
}

function meanOfFinite(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length === 0 ? NaN : finite.reduce((a, b) => a + b, 0) / finite.length;
}

/**
 * Summarizes the curves of every input. `cleanLast`: the clean image is the curve's last point (insertion)
 * rather than its first (deletion).
 */
function summarize(values: CurveValues, fractions: readonly number[], cleanLast: boolean): FaithfulnessCurve {
  const last = fractions.length - 1;
  const normalized = values.logits.map((z) => {
    const clean = cleanLast ? z[last] : z[0];
    const replaced = cleanLast ? z[0] : z[last];
    const span = clean - replaced;
    return Array.from(z, (v) => (Math.abs(span) > FLAT_SPAN ? (v - replaced) / span : NaN));
  });
  const aucPerInput = normalized.map((c) => area(c, fractions));
  const logitAucPerInput = values.logits.map((z) => area(z, fractions));
  const probabilityAucPerInput = values.probabilities.map((p) => area(p, fractions));
  const defined = normalized.filter((c) => Number.isFinite(c[0]));
  const curve = fractions.map((_, k) => meanOfFinite(defined.map((c) => c[k])));
  return {
    auc: meanOfFinite(aucPerInput),
    aucPerInput,
    logitAuc: meanOfFinite(logitAucPerInput),
    logitAucPerInput,
    probabilityAuc: meanOfFinite(probabilityAucPerInput),
    probabilityAucPerInput,
    curve,
    logits: values.logits.map((z) => Array.from(z)),
  };
}

/** The mean of several runs' curves, input by input and point by point. */
function meanValues(runs: CurveValues[]): CurveValues {
  const mean = (pick: (v: CurveValues) => Float64Array[]): Float64Array[] =>
    pick(runs[0]).map((_, i) => {
      const out = new Float64Array(pick(runs[0])[i].length);
      for (const run of runs) pick(run)[i].forEach((v, k) => (out[k] += v / runs.length));
      return out;
    });
  return { logits: mean((v) => v.logits), probabilities: mean((v) => v.probabilities) };
}

function checkTargets(model: Model, targets: ArrayLike<number>, n: number): Int32Array {
  if (targets.length !== n) {
    throw invalidArgument(
      `deletionInsertion: got ${targets.length} targets for ${n} inputs; give one class per input.`,
    );
  }
  return Int32Array.from(targets, (t, i) => {
    if (!Number.isInteger(t) || t < 0 || t >= model.numClasses) {
      throw invalidArgument(
        `deletionInsertion: target ${t} of input ${i} is not a class index of this model (0 to ${model.numClasses - 1}).`,
      );
    }
    return t;
  });
}

/**
 * Deletion and insertion (Petsiuk, Das & Saenko 2018, "RISE: Randomized Input Sampling for Explanation of
 * Black-box Models", section 4.1): pixels are taken in the order of the map, most attributed first, and the
 * target class's LOGIT is followed as they change. Deletion replaces them, step by step, with the deletion
 * baseline (black, the lower bound, by default): a faithful map makes the logit fall fast, so a low area under
 * the curve is good. Insertion starts from a blurred copy of the image and puts the original pixels back: a
 * faithful map makes the logit rise fast, so a high area is good. The curves are normalized per input as
 * (F(x_t) - F(r)) / (F(x) - F(r)), r being the fully replaced image, so they run from 1 to 0 (deletion) or 0
 * to 1 (insertion) whatever the logit's offset; the raw logit and RISE's probability areas are reported too.
 * A random pixel order, seeded, gives the baseline a map must beat.
 *
 * Pixel maps [n, h, w, c] are ranked by the sum of |values| over the channels; spatial maps [n, h, w]
 * (Grad-CAM, occlusion) by their value, most positive first. Equal scores are ordered at random (seeded).
 * A pixel changes in all its channels at once. Cost: (steps + 1) x n forward rows per curve, twice as many
 * with the random baseline (times randomOrders). Leaves no tensor behind; the caller keeps x and maps.
 *
 * @example const a = await explain(model, 'saliency', { x });
 *          const f = await deletionInsertion(model, x, a.maps, a.targets); // f.deletion.auc, f.insertion.auc
 */
export async function deletionInsertion(
  model: Model,
  x: tf.Tensor4D,
  maps: tf.Tensor,
  targets: ArrayLike<number>,
  opts: DeletionInsertionOptions = {},
): Promise<FaithfulnessResult> {
  const [h, w, c] = model.inputShape;
  if (x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c) {
    throw invalidArgument(
      `deletionInsertion: expected inputs of shape [n, ${h}, ${w}, ${c}], got [${x.shape.join(', ')}].`,
    );
  }
  const n = x.shape[0];
  if (n === 0) throw invalidArgument('deletionInsertion: there are no inputs.');
  checkMaps(maps, x.shape, 'deletionInsertion');
  const targetClasses = checkTargets(model, targets, n);
  const steps = positiveInteger(opts.steps ?? 20, 'steps', 1);
  const randomOrders = positiveInteger(opts.randomOrders ?? 1, 'randomOrders', 0);
  const batchSize = positiveInteger(opts.batchSize ?? 64, 'batchSize', 1);
  const seed = checkSeed(opts.seed ?? 0);
  const deletionBaseline = replacement(opts.deletionBaseline ?? 'black', 'deletionBaseline');
  const insertionStart = replacement(opts.insertionStart ?? 'blur', 'insertionStart');
  const blurSigma = opts.blurSigma ?? 5;
  if (!(Number.isFinite(blurSigma) && blurSigma > 0)) {
    throw invalidArgument(`deletionInsertion: blurSigma must be a number > 0, got ${blurSigma}.`);
  }
  throwIfAborted(opts.signal);

  const pixels = h * w;
  const scores = pixelScores(maps, maps.rank === 4 ? 'abs' : 'signed');
  if (scores.some((v) => Number.isNaN(v))) throw invalidArgument('deletionInsertion: the maps contain NaN.');
  const counts = Int32Array.from({ length: steps + 1 }, (_, k) => Math.round((k * pixels) / steps));
  const fractions = Array.from(counts, (count) => count / pixels);
  const deleted = replacementImage(model, x, deletionBaseline, blurSigma);
  const start = replacementImage(model, x, insertionStart, blurSigma);
  const common = { model, counts, targets: targetClasses, batchSize, signal: opts.signal };
  let queries = 0;
  const run = async (positions: Int32Array[]): Promise<{ deletion: CurveValues; insertion: CurveValues }> => {
    const deletion = await curveValues({ ...common, from: x, to: deleted, positions });
    const insertion = await curveValues({ ...common, from: start, to: x, positions });
    queries += 2 * n * counts.length;
    return { deletion, insertion };
  };
  try {
    const byMap = await run(orderByScore(scores, n, pixels, seed));
    const randomRuns: { deletion: CurveValues; insertion: CurveValues }[] = [];
    for (let r = 0; r < randomOrders; r++) randomRuns.push(await run(randomOrder(n, pixels, seed, r)));
    const deletion = summarize(byMap.deletion, fractions, false);
    const insertion = summarize(byMap.insertion, fractions, true);
    return {
      fractions,
      targets: Array.from(targetClasses),
      deletion,
      insertion,
      ...(randomOrders > 0
        ? {
            random: {
              deletion: summarize(meanValues(randomRuns.map((r) => r.deletion)), fractions, false),
              insertion: summarize(meanValues(randomRuns.map((r) => r.insertion)), fractions, true),
            },
          }
        : {}),
      score: insertion.auc - deletion.auc,
      options: { steps, deletionBaseline, insertionStart, blurSigma, randomOrders, seed },
      queries,
    };
  } finally {
    tf.dispose([deleted, start]);
  }
}
