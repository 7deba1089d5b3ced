import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError, invalidArgument } from '../errors.js';
import type { Model } from '../models/model.js';
import { checkSeed, Rng } from '../util/rng.js';
import { field, parseParams, type ParamsInput } from '../util/schema.js';
import { mixSeed } from '../util/seeded-math-random.js';
import { YieldThrottle } from '../util/yield-throttle.js';
import { binomialTestPValue, clopperPearsonLower, normalInverseCdf } from './statistics.js';

/**
 * Randomized smoothing (Cohen, Rosenfeld & Kolter 2019, "Certified Adversarial Robustness via Randomized
 * Smoothing"). The smoothed classifier g(x) = argmax_c P(f(x + e) = c), e ~ N(0, sigma^2 I), of a base
 * classifier f is robust around x in L2: if the top class has probability at least pA and every other at most
 * pB, g is constant within radius sigma/2 (Phi^-1(pA) - Phi^-1(pB)) (Theorem 1). g cannot be evaluated
 * exactly, so it is estimated by Monte Carlo with guarantees that hold with probability 1 - alpha:
 *
 * - PREDICT (Section 3.2, Algorithm 1): the top two classes' counts over n noisy copies; abstain unless the
 *   two-sided binomial test rejects "they are equally likely" at level alpha.
 * - CERTIFY: guess the top class from n0 copies, then bound its probability from below with n fresh copies
 *   (one-sided Clopper-Pearson); abstain if that bound pA_lower is below 1/2, else certify the radius
 *   sigma * Phi^-1(pA_lower) (Theorem 1 with pB = 1 - pA).
 *
 * The noise is added in the model's pixel space (the space of `Model.bounds`; sigma is in those units, the
 * paper uses 0.12 to 1.0 on [0, 1] images) and, as in the paper, the noisy copies are not clipped to the
 * bounds. Each input draws its noise from its own stream, seeded by the seed and the input's index, so a result
 * does not depend on how copies are batched nor on which other inputs share the call.
 */

/** The class returned when the smoothed classifier abstains. */
export const ABSTAIN = -1;

const common = {
  sigma: field.number({
    min: 0,
    exclusiveMin: true,
    description:
      "standard deviation of the Gaussian noise, in the model's pixel units (not a fraction of the range); required",
  }),
  alpha: field.number({
    default: 0.001,
    min: 0,
    max: 1,
    exclusiveMin: true,
    exclusiveMax: true,
    description: 'probability that the answer is wrong (a wrong class, or a radius that is not certified)',
  }),
  batchSize: field.integer({ default: 256, min: 1, description: 'noisy copies per forward pass' }),
  seed: field.integer({
    default: 0,
    min: 0,
    description: 'seed of the noise; the same seed gives the same result',
  }),
};

/** PREDICT's parameters (defaults as in the paper's code). */
export const smoothedPredictSchema = {
  ...common,
  n: field.integer({ default: 100_000, min: 1, description: 'noisy copies per input' }),
};

/** CERTIFY's parameters (defaults as in the paper's experiments). */
export const certifySchema = {
  ...common,
  n0: field.integer({ default: 100, min: 1, description: 'noisy copies per input to guess the top class' }),
  n: field.integer({
    default: 100_000,
    min: 1,
    description: "noisy copies per input to bound the top class's probability from below",
  }),
};

const sampleCountsSchema = {
  sigma: common.sigma,
  num: field.integer({ min: 1, description: 'noisy copies of the input' }),
  batchSize: common.batchSize,
};

export interface SmoothingProgress {
  /** Noisy copies classified so far, over all inputs and phases. */
  done: number;
  total: number;
}

interface RunOptions {
  signal?: AbortSignal;
  /** Called at most every 50 ms and once at the end. */
  onProgress?: (progress: SmoothingProgress) => void;
  /**
   * Index of x's first row in the whole run (default 0): the noise of input i is seeded by (seed, offset + i),
   * so a data set certified in chunks gives the same results as in one call.
   */
  offset?: number;
}

export type SmoothedPredictOptions = ParamsInput<typeof smoothedPredictSchema> &
  RunOptions & { sigma: number };
export type CertifyOptions = ParamsInput<typeof certifySchema> & RunOptions & { sigma: number };

export interface SmoothedPrediction {
  /** The smoothed classifier's class, or ABSTAIN (-1). */
  prediction: number;
  /** The two-sided binomial test's p-value of "the top two classes are equally likely". */
  pValue: number;
  /** How many of the n noisy copies the base classifier put in each class. */
  counts: number[];
}

export interface Certification {
  /** The smoothed classifier's class, or ABSTAIN (-1). */
  prediction: number;
  /** The certified L2 radius sigma * Phi^-1(pALower) in pixel units; 0 when abstaining. */
  radius: number;
  /** The (1 - alpha) lower confidence bound on the top class's probability under noise. */
  pALower: number;
  /** How many of the n estimation copies the base classifier put in each class (not the n0 selection ones). */
  counts: number[];
}

/** Standard normal samples from an Rng, using both values of each Box-Muller pair. */
class GaussianStream {
  private spare: number | undefined;

  constructor(private readonly rng: Rng) {}

  next(): number {
    if (this.spare !== undefined) {
      const value = this.spare;
      this.spare = undefined;
      return value;
    }
    let u = 0;
    while (u === 0) u = this.rng.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * this.rng.next();
    this.spare = r * Math.sin(angle);
    return r * Math.cos(angle);
  }
}

/** One input's share of a sampling run: its pixels, its noise and its counts. */
interface Sampler {
  pixels: Float32Array;
  noise: GaussianStream;
  remaining: number;
  counts: Int32Array;
}

/** Counts classified copies, reports progress, lets the event loop run and stops when aborted. */
class Ticker {
  private done = 0;
  private readonly throttle = new YieldThrottle();

  constructor(
    private readonly total: number,
    private readonly signal: AbortSignal | undefined,
    private readonly onProgress: ((p: SmoothingProgress) => void) | undefined,
  ) {
    throwIfAborted(signal);
  }

  async add(copies: number): Promise<void> {
    this.done += copies;
    await this.throttle.tick(() => this.onProgress?.({ done: this.done, total: this.total }));
    throwIfAborted(this.signal);
  }

  finish(): void {
    this.onProgress?.({ done: this.done, total: this.total });
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new AdvkitError('ABORTED', 'Randomized smoothing was cancelled.');
}

/**
 * Classifies `remaining` noisy copies of each sampler's input and adds them to its counts. Copies of several
 * inputs share a forward pass of up to batchSize rows; each input's noise is drawn in order from its own
 * stream, so the counts do not depend on the packing.
 */
async function drawCounts(
  model: Model,
  samplers: readonly Sampler[],
  sigma: number,
  batchSize: number,
  ticker: Ticker,
): Promise<void> {
  const [h, w, c] = model.inputShape;
  const size = h * w * c;
  let next = 0;
  while (next < samplers.length) {
    const owners: number[] = [];
    const values = new Float32Array(Math.min(batchSize, totalRemaining(samplers, next)) * size);
    while (owners.length < batchSize && next < samplers.length) {
      const s = samplers[next];
      const copies = Math.min(s.remaining, batchSize - owners.length);
      for (let k = 0; k < copies; k++) {
        const start = owners.length * size;
        for (let j = 0; j < size; j++) values[start + j] = s.pixels[j] + sigma * s.noise.next();
        owners.push(next);
      }
      s.remaining -= copies;
      if (s.remaining === 0) next++;
    }
    const classes = tf.tidy(() => tf.argMax(model.logits(tf.tensor4d(values, [owners.length, h, w, c])), 1));
    try {
      const data = await classes.data();
      owners.forEach((owner, row) => samplers[owner].counts[data[row]]++);
    } finally {
      classes.dispose();
    }
    await ticker.add(owners.length);
  }
}

function totalRemaining(samplers: readonly Sampler[], from: number): number {
  let sum = 0;
  for (let i = from; i < samplers.length; i++) sum += samplers[i].remaining;
  return sum;
}

/**
 * How often the base classifier `model` (f) picks each class on `num` copies of one input x ([h, w, c] or
 * [1, h, w, c]) with Gaussian noise N(0, sigma^2 I) added in pixel space, unclipped: the Monte Carlo step of
 * Cohen et al. 2019 (SampleUnderNoise in Algorithm 1). The noise comes from `rng`, which advances.
 *
 * @example const counts = await sampleCounts(model, x, 0.25, 1000, { rng: new Rng(0) });
 */
export async function sampleCounts(
  model: Model,
  x: tf.Tensor3D | tf.Tensor4D,
  sigma: number,
  num: number,
  opts: { rng: Rng; batchSize?: number; signal?: AbortSignal; onProgress?: (p: SmoothingProgress) => void },
): Promise<Int32Array> {
  const [h, w, c] = model.inputShape;
  const single = x.rank === 3 ? x.shape.join() === [h, w, c].join() : x.shape.join() === [1, h, w, c].join();
  if (!single) {
    throw invalidArgument(
      `sampleCounts: expected one input of shape [${h}, ${w}, ${c}] or [1, ${h}, ${w}, ${c}], got [${x.shape.join(', ')}].`,
    );
  }
  const params = parseParams(sampleCountsSchema, { sigma, num, batchSize: opts.batchSize }, 'sampleCounts');
  if (params.num === undefined)
    throw invalidArgument('sampleCounts: num (the number of noisy copies) is required.');
  requireSigma(params.sigma, 'sampleCounts');
  const sampler: Sampler = {
    pixels: Float32Array.from(await x.data()),
    noise: new GaussianStream(opts.rng),
    remaining: params.num,
    counts: new Int32Array(model.numClasses),
  };
  const ticker = new Ticker(params.num, opts.signal, opts.onProgress);
  await drawCounts(model, [sampler], sigma, params.batchSize, ticker);
  ticker.finish();
  return sampler.counts;
}

/** Checks x against the model and the offset; returns each input's pixels and the seed of its noise. */
async function prepare(
  model: Model,
  x: tf.Tensor4D,
  seed: number,
  offset: number | undefined,
  owner: string,
): Promise<{ pixels: Float32Array[]; seeds: number[] }> {
  const [h, w, c] = model.inputShape;
  if (x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c) {
    throw invalidArgument(
      `${owner}: expected inputs of shape [n, ${h}, ${w}, ${c}], got [${x.shape.join(', ')}].`,
    );
  }
  if (x.shape[0] === 0) throw invalidArgument(`${owner}: there are no inputs.`);
  const first = offset ?? 0;
  if (!Number.isSafeInteger(first) || first < 0) {
    throw invalidArgument(
      `${owner}: offset must be an integer >= 0 (the index of the first input), got ${first}.`,
    );
  }
  checkSeed(seed);
  const n = x.shape[0];
  const size = h * w * c;
  const data = await x.data();
  const pixels = Array.from({ length: n }, (_, i) =>
    Float32Array.from(data.subarray(i * size, (i + 1) * size)),
  );
  // mixSeed takes 32-bit parts: the seed's high bits go in a part of their own.
  const seeds = pixels.map((_, i) => mixSeed(seed % 2 ** 32, Math.floor(seed / 2 ** 32), first + i));
  return { pixels, seeds };
}

function requireSigma(sigma: number | undefined, owner: string): number {
  if (sigma === undefined) {
    throw invalidArgument(
      `${owner}: sigma is required: the standard deviation of the Gaussian noise in the model's pixel units ` +
        '(Cohen et al. use 0.12, 0.25, 0.5 and 1.0 on [0, 1] images).',
    );
  }
  return sigma;
}

/**
 * The classes with the largest and second largest counts (the lower class first among equal counts); the
 * second is -1 when there is only one class.
 */
function topTwo(counts: Int32Array): [number, number] {
  if (counts.length === 1) return [0, -1];
  let first = 0;
  let second = 1;
  if (counts[second] > counts[first]) [first, second] = [second, first];
  for (let k = 2; k < counts.length; k++) {
    if (counts[k] > counts[first]) [first, second] = [k, first];
    else if (counts[k] > counts[second]) second = k;
  }
  return [first, second];
}

/**
 * PREDICT (Cohen et al. 2019, Section 3.2): the smoothed classifier's class for each input x[i], from the
 * base classifier's counts over n noisy copies; it abstains (ABSTAIN, -1) unless the two-sided binomial test
 * of the top two counts nA, nB against 1/2 has a p-value <= alpha. A class returned differs from g(x) with
 * probability at most alpha (Proposition 1).
 *
 * @example const [p] = await smoothedPredict(model, x, { sigma: 0.25, n: 1000, alpha: 0.001 });
 */
export async function smoothedPredict(
  model: Model,
  x: tf.Tensor4D,
  options: SmoothedPredictOptions,
): Promise<SmoothedPrediction[]> {
  const { signal, onProgress, offset, ...given } = options;
  const p = parseParams(smoothedPredictSchema, given, 'smoothedPredict');
  const sigma = requireSigma(p.sigma, 'smoothedPredict');
  const { pixels, seeds } = await prepare(model, x, p.seed, offset, 'smoothedPredict');
  const samplers = pixels.map((values, i) => ({
    pixels: values,
    noise: new GaussianStream(new Rng(seeds[i])),
    remaining: p.n,
    counts: new Int32Array(model.numClasses),
  }));
  const ticker = new Ticker(samplers.length * p.n, signal, onProgress);
  await drawCounts(model, samplers, sigma, p.batchSize, ticker);
  ticker.finish();
  return samplers.map(({ counts }) => {
    const [a, b] = topTwo(counts);
    const nB = b < 0 ? 0 : counts[b];
    const pValue = binomialTestPValue(counts[a], counts[a] + nB, 0.5);
    return { prediction: pValue <= p.alpha ? a : ABSTAIN, pValue, counts: Array.from(counts) };
  });
}

/**
 * CERTIFY (Cohen et al. 2019, Section 3.2, Algorithm 1): for each input x[i], the class cA guessed from n0
 * noisy copies, pA_lower, the one-sided (1 - alpha) Clopper-Pearson lower bound on its probability from n
 * further copies, and the certified L2 radius sigma * Phi^-1(pA_lower); it abstains (ABSTAIN, -1, radius 0)
 * when pA_lower < 1/2. With probability at least 1 - alpha, a returned class is g(x) and g is constant within
 * the radius. Even a base classifier that is always right certifies at most sigma * Phi^-1(alpha^(1/n)).
 *
 * @example const [c] = await certify(model, x, { sigma: 0.25, n0: 100, n: 100000, alpha: 0.001 });
 */
export async function certify(
  model: Model,
  x: tf.Tensor4D,
  options: CertifyOptions,
): Promise<Certification[]> {
  const { signal, onProgress, offset, ...given } = options;
  const p = parseParams(certifySchema, given, 'certify');
  const sigma = requireSigma(p.sigma, 'certify');
  const { pixels, seeds } = await prepare(model, x, p.seed, offset, 'certify');
  const ticker = new Ticker(pixels.length * (p.n0 + p.n), signal, onProgress);
  // Selection then estimation, each input's noise continuing one stream, so the n copies are fresh.
  const samplers = pixels.map((values, i) => ({
    pixels: values,
    noise: new GaussianStream(new Rng(seeds[i])),
    remaining: p.n0,
    counts: new Int32Array(model.numClasses),
  }));
  await drawCounts(model, samplers, sigma, p.batchSize, ticker);
  const guesses = samplers.map(({ counts }) => topTwo(counts)[0]);
  for (const s of samplers) {
    s.remaining = p.n;
    s.counts = new Int32Array(model.numClasses);
  }
  await drawCounts(model, samplers, sigma, p.batchSize, ticker);
  ticker.finish();
  return samplers.map(({ counts }, i) => {
    const pALower = clopperPearsonLower(counts[guesses[i]], p.n, p.alpha);
    const certified = pALower >= 0.5;
    return {
      prediction: certified ? guesses[i] : ABSTAIN,
      radius: certified ? sigma * normalInverseCdf(pALower) : 0,
      pALower,
      counts: Array.from(counts),
    };
  });
}

/**
 * Certified accuracy at each radius r (Cohen et al. 2019, Section 4): the share of inputs whose certified class
 * is the label with a radius of at least r. Abstentions count as wrong.
 *
 * @example certifiedAccuracy(results, labels, [0, 0.25, 0.5, 1]) // e.g. [0.75, 0.6, 0.43, 0.22]
 */
export function certifiedAccuracy(
  results: readonly Pick<Certification, 'prediction' | 'radius'>[],
  labels: ArrayLike<number>,
  radii: readonly number[],
): number[] {
  if (results.length === 0) throw invalidArgument('certifiedAccuracy: there are no results.');
  if (labels.length !== results.length) {
    throw invalidArgument(
      `certifiedAccuracy: expected one label per result (${results.length}), got ${labels.length} labels.`,
    );
  }
  for (const r of radii) {
    if (!(r >= 0) || !Number.isFinite(r)) {
      throw invalidArgument(`certifiedAccuracy: every radius must be a finite number >= 0, got ${r}.`);
    }
  }
  return radii.map(
    (r) =>
      results.filter((c, i) => c.prediction !== ABSTAIN && c.prediction === labels[i] && c.radius >= r)
        .length / results.length,
  );
}
