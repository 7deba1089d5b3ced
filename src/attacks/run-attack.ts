import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../errors.js';
import type { Model } from '../models/model.js';
import { checkSeed, Rng } from '../util/rng.js';
import { allRows } from '../util/rows.js';
import { parseParams, type Params, type Schema } from '../util/schema.js';
import { BatchContext, goalMet, throwIfAborted } from './attack-context.js';
import { distances, project, type Distances } from './norms.js';
import { mean, predictClasses } from './predict-classes.js';
import { NORMS, type Attack, type Cost, type Goal, type Norm } from './types.js';

export interface RunAttackOptions {
  /** Clean inputs [n, h, w, c] within the classifier's bounds (the caller keeps ownership). */
  x: tf.Tensor4D;
  /** True labels, one per example. */
  labels: ArrayLike<number> | tf.Tensor1D;
  /** 'untargeted' by default. */
  goal?: Goal;
  /** The budget, or several (one result per eps). Required for fixed-budget attacks; optional for minimal ones. */
  eps?: number | readonly number[];
  /** 'linf' by default. */
  norm?: Norm;
  /** The attack's parameters, checked against its schema; missing ones take the documented defaults. */
  params?: Readonly<Record<string, unknown>>;
  /** Examples per forward/backward pass (default 128). */
  batchSize?: number;
  /** Seed of every random choice (random starts, random targets, sampling); default 0. */
  seed?: number;
  /**
   * Passes averaged per gradient, for randomized models (Expectation over Transformation); default 1. Each pass
   * counts as one gradient evaluation. Score-based and decision-based attacks ignore it.
   */
  eot?: number;
  /** Keep the adversarial inputs as tensors in the result (default true; false saves memory in evaluations). */
  keepAdversarial?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: AttackProgress) => void;
}

export interface AttackProgress {
  attack: string;
  /** Examples finished (all eps) out of total. */
  done: number;
  total: number;
  /** Overall fraction 0..1, including the progress inside the current batch. */
  fraction: number;
}

/** The outcome at one budget. */
export interface AttackResult {
  /** The budget; null for a minimal attack run without one. */
  eps: number | null;
  /** The adversarial inputs, projected onto the eps-ball and the bounds (null when keepAdversarial is false). */
  adversarial: tf.Tensor4D | null;
  /** 1 where the goal is met: prediction != label (untargeted) or == target (targeted). */
  success: Uint8Array;
  /** Predictions on the adversarial inputs. */
  predictions: Int32Array;
  distances: Distances;
  successRate: number;
  /** Accuracy on the adversarial inputs (the robust accuracy for untargeted goals). */
  accuracy: number;
  /** Gradient evaluations and queries spent by the attack (per example: divide by n). */
  cost: Cost;
  seconds: number;
}

export interface AttackRun {
  attack: string;
  norm: Norm;
  /** The parameters used, defaults filled in. */
  params: Readonly<Record<string, unknown>>;
  seed: number;
  labels: Int32Array;
  /** Targets per example for targeted goals, else null. */
  targets: Int32Array | null;
  /**
   * Examples whose target is their true label (a targeted goal only; else 0). There is nothing to attack: their
   * result is the clean input and they never count as successes, so success rates and accuracy agree.
   */
  sameTargetCount: number;
  /** Plain-language notes about the run (e.g. examples left unattacked), for reports; empty when none. */
  notes: string[];
  cleanPredictions: Int32Array;
  cleanAccuracy: number;
  results: AttackResult[];
  /** Disposes the adversarial tensors of every result. */
  dispose(): void;
}

const DEFAULT_BATCH_SIZE = 128;

/**
 * The one entry point for every attack (Foolbox's guarantee, not the attack's): validates the parameters and
 * the goal, runs the attack in batches, projects each result onto the eps-ball and the bounds, and computes
 * success, predictions and distances itself. Fixed-budget attacks run once per eps; a minimal attack runs
 * once and its result is clipped to each eps. Everything but the returned adversarial tensors is disposed.
 */
export async function runAttack<S extends Schema>(
  classifier: Model,
  attack: Attack<S>,
  options: RunAttackOptions,
): Promise<AttackRun> {
  const setup = validate(classifier, attack, options);
  const { x, n, norm, epsList, batchSize, seed, eot } = setup;
  const labels = setup.labels;
  const cleanPredictions = await predictClasses(classifier, x, { batchSize, signal: options.signal });
  const targets = await resolveTargets(options.goal ?? 'untargeted', labels, classifier, x, batchSize, seed);
  const sameTarget = Uint8Array.from(labels, (y, i) => Number(targets !== null && targets[i] === y));
  const sameTargetCount = sameTarget.reduce((a, v) => a + v, 0);
  const results = epsList.map((eps) => emptyResult(eps, n));
  const kept: tf.Tensor4D[][] = epsList.map(() => []);
  const keep = options.keepAdversarial !== false;
  const batches = Math.ceil(n / batchSize);
  const runsPerBatch = attack.budget === 'fixed' ? epsList.length : 1;
  const report = (doneUnits: number): void =>
    options.onProgress?.({
      attack: attack.name,
      done: Math.min(n, Math.floor((doneUnits / (batches * runsPerBatch)) * n)),
      total: n,
      fraction: doneUnits / (batches * runsPerBatch),
    });
  try {
    for (let b = 0; b < batches; b++) {
      throwIfAborted(options.signal);
      const start = b * batchSize;
      const size = Math.min(batchSize, n - start);
      const xb = tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1]);
      const batchLabels = labels.subarray(start, start + size);
      const batchTargets = targets ? targets.subarray(start, start + size) : null;
      try {
        const runOne = async (
          eps: number,
          unit: number,
        ): Promise<{ adv: tf.Tensor4D; cost: Cost; seconds: number }> => {
          const t0 = Date.now();
          const ctx = new BatchContext({
            classifier,
            x: xb,
            labels: batchLabels,
            targets: batchTargets,
            eps,
            norm,
            rng: new Rng((seed ^ Math.imul(b + 1, 0x9e3779b1) ^ Math.imul(unit + 1, 0x85ebca6b)) >>> 0),
            eot,
            signal: options.signal,
            onStep: (fraction) => report(b * runsPerBatch + unit + fraction),
          });
          const adv = await attack.run(ctx, setup.params);
          return { adv, cost: ctx.cost, seconds: (Date.now() - t0) / 1000 };
        };
        const scoreInto = (e: number, out: { adv: tf.Tensor4D; cost: Cost; seconds: number }): void =>
          score({
            classifier,
            xb,
            out,
            eps: epsList[e],
            norm,
            start,
            labels: batchLabels,
            targets: batchTargets,
            sameTarget: sameTarget.subarray(start, start + size),
            result: results[e],
            kept: keep ? kept[e] : null,
          });
        if (attack.budget === 'fixed') {
          for (let e = 0; e < epsList.length; e++) {
            scoreInto(e, await runOne(epsList[e] ?? Infinity, e));
            report(b * runsPerBatch + e + 1);
          }
        } else {
          const out = await runOne(Infinity, 0);
          for (let e = 0; e < epsList.length; e++) scoreInto(e, { ...out, adv: out.adv.clone() });
          out.adv.dispose();
          report(b + 1);
        }
      } finally {
        xb.dispose();
      }
    }
  } catch (err) {
    kept.flat().forEach((t) => t.dispose());
    throw err;
  }
  for (let e = 0; e < results.length; e++) {
    const r = results[e];
    r.successRate = mean(r.success);
    r.accuracy = mean(r.predictions.map((p, i) => Number(p === labels[i])));
    if (keep) r.adversarial = kept[e].length === 1 ? kept[e][0] : tf.concat(kept[e]);
    if (kept[e].length > 1) kept[e].forEach((t) => t.dispose());
  }
  return {
    attack: attack.name,
    norm,
    params: setup.params,
    seed,
    labels,
    targets,
    sameTargetCount,
    notes:
      sameTargetCount === 0
        ? []
        : [
            `${sameTargetCount} of ${n} examples already belong to their target class (target = true label): ` +
              'they were not counted as successes and keep their clean input.',
          ],
    cleanPredictions,
    cleanAccuracy: mean(cleanPredictions.map((p, i) => Number(p === labels[i]))),
    results,
    dispose: () => results.forEach((r) => r.adversarial?.dispose()),
  };
}

interface Scoring {
  classifier: Model;
  /** The batch's clean inputs. */
  xb: tf.Tensor4D;
  /** The attack's output (taken over) and what it cost. */
  out: { adv: tf.Tensor4D; cost: Cost; seconds: number };
  eps: number | undefined;
  norm: Norm;
  /** The batch's first example. */
  start: number;
  labels: Int32Array;
  targets: Int32Array | null;
  /** 1 for the batch's examples whose target is their label: they keep their clean input. */
  sameTarget: Uint8Array;
  result: AttackResult;
  /** Where the projected inputs go, or null to dispose them. */
  kept: tf.Tensor4D[] | null;
}

/** Projects an attack's output, then scores it into `result` (the runner's own verdict, not the attack's). */
function score(o: Scoring): void {
  const { classifier, xb, out, start, result } = o;
  let projected = project(xb, out.adv, o.eps ?? Infinity, o.norm, classifier.bounds);
  out.adv.dispose();
  if (o.sameTarget.includes(1)) {
    const mask = o.sameTarget;
    const restored = tf.tidy(() =>
      tf.where(tf.reshape(tf.tensor1d(mask, 'bool'), [mask.length, 1, 1, 1]), xb, projected),
    );
    projected.dispose();
    projected = restored;
  }
  const pred = tf.tidy(() => tf.argMax(classifier.logits(projected), 1));
  const predictions = Int32Array.from(pred.dataSync());
  pred.dispose();
  const met = goalMet(predictions, allRows(predictions.length), o.labels, o.targets);
  result.success.set(
    met.map((m, i) => m & (1 - o.sameTarget[i])),
    start,
  );
  result.predictions.set(predictions, start);
  const d = distances(xb, projected, classifier.bounds);
  result.distances.l0.set(d.l0, start);
  result.distances.l1.set(d.l1, start);
  result.distances.l2.set(d.l2, start);
  result.distances.linf.set(d.linf, start);
  result.cost.gradients += out.cost.gradients;
  result.cost.queries += out.cost.queries;
  result.seconds += out.seconds;
  if (o.kept) o.kept.push(projected);
  else projected.dispose();
}

function emptyResult(eps: number | undefined, n: number): AttackResult {
  return {
    eps: eps ?? null,
    adversarial: null,
    success: new Uint8Array(n),
    predictions: new Int32Array(n),
    distances: {
      l0: new Float32Array(n),
      l1: new Float32Array(n),
      l2: new Float32Array(n),
      linf: new Float32Array(n),
    },
    successRate: 0,
    accuracy: 0,
    cost: { gradients: 0, queries: 0 },
    seconds: 0,
  };
}

interface Setup<S extends Schema> {
  x: tf.Tensor4D;
  n: number;
  labels: Int32Array;
  norm: Norm;
  /** One entry per result; undefined means "no budget" (minimal attacks only). */
  epsList: (number | undefined)[];
  batchSize: number;
  seed: number;
  eot: number;
  params: Params<S>;
}

function validate<S extends Schema>(classifier: Model, attack: Attack<S>, o: RunAttackOptions): Setup<S> {
  const name = attack.name;
  const norm = o.norm ?? 'linf';
  if (!NORMS.includes(norm))
    throw invalidArgument(`norm must be one of ${NORMS.join(', ')}; got '${String(norm)}'.`);
  if (!attack.norms.includes(norm)) {
    throw invalidArgument(
      `${name} does not support the ${norm} norm; it supports ${attack.norms.join(', ')}.`,
    );
  }
  const params = parseParams(attack.schema, o.params, name);
  const epsList = parseEps(o.eps, norm, attack);
  const batchSize = o.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw invalidArgument(`batchSize must be an integer >= 1, got ${batchSize}.`);
  }
  const seed = o.seed ?? 0;
  checkSeed(seed);
  const eot = o.eot ?? 1;
  if (!Number.isInteger(eot) || eot < 1) {
    throw invalidArgument(`eot (passes averaged per gradient) must be an integer >= 1, got ${eot}.`);
  }
  const x = o.x;
  const [h, w, c] = classifier.inputShape;
  if (x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c) {
    throw invalidArgument(
      `x must have shape [n, ${h}, ${w}, ${c}] for this model, got [${x.shape.join(', ')}].`,
    );
  }
  const n = x.shape[0];
  if (n === 0) throw invalidArgument('x holds no examples.');
  const [lo, hi] = classifier.bounds;
  const [min, max, nan] = tf
    .tidy(() => [tf.min(x), tf.max(x), tf.sum(tf.cast(tf.isNaN(x), 'int32'))])
    .map((t) => {
      const v = t.dataSync()[0];
      t.dispose();
      return v;
    });
  if (nan > 0) {
    throw invalidArgument(
      `x contains ${nan} NaN value${nan === 1 ? '' : 's'}; inputs must be numbers within the model's bounds [${lo}, ${hi}].`,
    );
  }
  if (min < lo - 1e-6 || max > hi + 1e-6) {
    throw invalidArgument(
      `x has values in [${min}, ${max}] but the model's bounds are [${lo}, ${hi}]: scale the inputs into the bounds.`,
    );
  }
  const labels = toLabels(o.labels, n, classifier.numClasses, 'labels');
  if (o.goal !== undefined && o.goal !== 'untargeted' && !attack.targeted) {
    throw invalidArgument(`${name} only runs untargeted; remove the target.`);
  }
  return { x, n, labels, norm, epsList, batchSize, seed, eot, params };
}

function parseEps(eps: RunAttackOptions['eps'], norm: Norm, attack: Attack<Schema>): (number | undefined)[] {
  if (eps === undefined) {
    if (attack.budget === 'fixed') {
      throw invalidArgument(
        `${attack.name} needs a budget: give eps (e.g. 8/255 for linf on [0, 1] images).`,
      );
    }
    return [undefined];
  }
  const list = typeof eps === 'number' ? [eps] : [...eps];
  if (list.length === 0) throw invalidArgument('eps is an empty list; give at least one budget.');
  for (const e of list) {
    if (typeof e !== 'number' || !Number.isFinite(e) || e < 0) {
      throw invalidArgument(`eps must be finite numbers >= 0 (${norm} distances in input units), got ${e}.`);
    }
  }
  return list;
}

function toLabels(
  values: ArrayLike<number> | tf.Tensor1D,
  n: number,
  classes: number,
  what: string,
): Int32Array {
  const arr = values instanceof tf.Tensor ? values.dataSync() : values;
  if (arr.length !== n) throw invalidArgument(`${what} has ${arr.length} entries for ${n} examples.`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = arr[i];
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw invalidArgument(`${what}[${i}] is ${v}; class indices go from 0 to ${classes - 1}.`);
    }
    out[i] = v;
  }
  return out;
}

async function resolveTargets(
  goal: Goal,
  labels: Int32Array,
  classifier: Model,
  x: tf.Tensor4D,
  batchSize: number,
  seed: number,
): Promise<Int32Array | null> {
  const n = labels.length;
  const k = classifier.numClasses;
  if (goal === 'untargeted') return null;
  if (goal === 'random') {
    const rng = new Rng((seed ^ 0x5bd1e995) >>> 0);
    return labels.map((y) => (y + 1 + rng.int(k - 1)) % k);
  }
  if (goal === 'least-likely') return predictClasses(classifier, x, { batchSize, which: 'min' });
  if (typeof goal === 'object' && goal !== null && 'target' in goal) {
    const t = goal.target;
    if (typeof t === 'number') return toLabels(new Array<number>(n).fill(t), n, k, 'target');
    return toLabels(t, n, k, 'targets');
  }
  throw invalidArgument(
    `goal must be 'untargeted', 'least-likely', 'random' or { target: class or one class per example }; got ${JSON.stringify(goal)}.`,
  );
}
