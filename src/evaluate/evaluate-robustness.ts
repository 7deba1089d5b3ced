import * as tf from '@tensorflow/tfjs-core';
import { throwIfAborted } from '../attacks/attack-context.js';
import { mean, predictClasses } from '../attacks/predict-classes.js';
import { getAttack } from '../attacks/registry.js';
import { runAttack } from '../attacks/run-attack.js';
import { NORMS, type Norm } from '../attacks/types.js';
import { invalidArgument } from '../errors.js';
import type { Model } from '../models/model.js';
import { mixSeed } from '../util/seeded-math-random.js';
import { checkSeed } from '../util/rng.js';
import { base64ToFloat32, float32ToBase64 } from '../util/base64.js';
import {
  checkResumedChunk,
  matchingState,
  STATE_FORMAT,
  type ChunkRecord,
  type EvaluationState,
  type EvaluationStateStore,
} from './evaluation-state.js';
import { datasetSha256 } from './fingerprint.js';
import type { AttackStepRecord } from './report-types.js';
import { resolveSuite, type Suite } from './suites.js';

export interface EvaluateOptions {
  /** Inputs [n, h, w, c] within the classifier's bounds (the caller keeps ownership). */
  x: tf.Tensor4D;
  labels: ArrayLike<number>;
  norm: Norm;
  /** Budgets; each is evaluated on its own (sorted ascending in the result). */
  eps: number | readonly number[];
  /** A suite name ('standard', 'fast', 'pgd', 'rand') or a list of attacks (default 'standard'). */
  suite?: string | readonly string[];
  /**
   * Passes averaged per gradient of every white-box attack (EOT), for randomized models; default 1, or 20 with
   * the 'rand' suite.
   */
  eot?: number;
  seed?: number;
  /** Examples per forward/backward pass (default 128). */
  batchSize?: number;
  /** Points per saved unit of work (default 4 x batchSize): the most a kill can lose. */
  chunkSize?: number;
  /** The first `galleryCount` points keep their adversarial inputs for the report (default 8). */
  galleryCount?: number;
  /** Saves progress after every chunk and resumes from it. */
  state?: EvaluationStateStore;
  /** Part of the resume key: identifies the model (e.g. its weights' sha256). */
  modelKey?: string;
  signal?: AbortSignal;
  onProgress?: (progress: EvaluationProgress) => void;
}

export interface EvaluationProgress {
  eps: number;
  epsIndex: number;
  /** The suite entry running. */
  attack: string;
  attackIndex: number;
  /** Points of this attack's run done, out of the points it runs on. */
  done: number;
  total: number;
  /** Robust accuracy at this eps so far (points not yet broken by any attack). */
  robustAccuracy: number;
  /** True when the step was replayed from the saved state. */
  resumed: boolean;
}

export interface EpsEvaluation {
  eps: number;
  /** 1 where the point is correctly classified and no attack of the suite broke it. */
  robust: Uint8Array;
  /** Index into the suite of the attack that broke each point; -1 when none did (or it was misclassified). */
  brokenBy: Int16Array;
  robustAccuracy: number;
  steps: AttackStepRecord[];
}

export interface GalleryAdversarial {
  index: number;
  eps: number;
  /** The suite entry whose output this is: the one that broke the point, else the last that tried. */
  attack: string;
  prediction: number;
  /** HWC values within the bounds. */
  adversarial: Float32Array;
}

export interface RobustnessEvaluation {
  suite: Suite;
  norm: Norm;
  seed: number;
  n: number;
  labels: Int32Array;
  cleanPredictions: Int32Array;
  cleanAccuracy: number;
  datasetSha256: string;
  perEps: EpsEvaluation[];
  /** Adversarial inputs of the gallery points, per eps. */
  gallery: GalleryAdversarial[];
  /** Chunks replayed from a saved state rather than run. */
  resumedChunks: number;
  seconds: number;
}

const DEFAULT_BATCH = 128;

/**
 * The AutoAttack protocol (Croce & Hein 2020): at each eps, the suite's attacks run in order, each only on the
 * points every earlier attack left robust; a point counts as robust only if no attack broke it (the per-example
 * worst case), and the accuracy after each attack is recorded. Work is saved per chunk so that a killed run
 * resumes and ends with the result of an uninterrupted one; each chunk's seed depends on (seed, eps, attack,
 * chunk) only.
 */
export async function evaluateRobustness(
  classifier: Model,
  options: EvaluateOptions,
): Promise<RobustnessEvaluation> {
  const t0 = Date.now();
  const setup = validate(classifier, options);
  const { x, n, labels, norm, epsList, suite, seed, batchSize, chunkSize } = setup;
  const dataHash = await datasetSha256(x, labels);
  const key = JSON.stringify({
    model: options.modelKey ?? null,
    data: dataHash,
    norm,
    eps: epsList,
    suite: suite.entries,
    seed,
    batchSize,
    chunkSize,
  });
  const store = options.state;
  const saved = store ? matchingState(await store.load(), key, store.location, n) : null;
  const cleanPredictions = saved
    ? Int32Array.from(saved.cleanPredictions)
    : await predictClasses(classifier, x, { batchSize, signal: options.signal });
  const state: EvaluationState = {
    format: STATE_FORMAT,
    key,
    cleanPredictions: Array.from(cleanPredictions),
    chunks: saved ? saved.chunks : [],
  };
  const done = new Map(state.chunks.map((c) => [chunkId(c.eps, c.attack, c.chunk), c]));
  const correct = Uint8Array.from(labels, (y, i) => (cleanPredictions[i] === y ? 1 : 0));
  const galleryIndices = new Set(Array.from({ length: Math.min(n, setup.galleryCount) }, (_, i) => i));
  const gallery = new Map<string, GalleryAdversarial>();
  let resumedChunks = 0;

  const perEps: EpsEvaluation[] = [];
  for (let e = 0; e < epsList.length; e++) {
    const eps = epsList[e];
    const robust = correct.slice();
    const brokenBy = new Int16Array(n).fill(-1);
    const steps: AttackStepRecord[] = [];
    for (let k = 0; k < suite.entries.length; k++) {
      const entry = suite.entries[k];
      const attack = getAttack(entry.attack);
      const targets = indicesOf(robust);
      const chunks = Math.ceil(targets.length / chunkSize);
      const step = { gradients: 0, queries: 0, seconds: 0, broken: 0 };
      const progress = (doneInStep: number, resumed: boolean): void =>
        options.onProgress?.({
          eps,
          epsIndex: e,
          attack: entry.name,
          attackIndex: k,
          done: doneInStep,
          total: targets.length,
          robustAccuracy: mean(robust),
          resumed,
        });
      progress(0, false);
      for (let c = 0; c < chunks; c++) {
        throwIfAborted(options.signal);
        const members = targets.slice(c * chunkSize, (c + 1) * chunkSize);
        let record = done.get(chunkId(e, k, c));
        const resumed = record !== undefined;
        if (record === undefined) {
          record = await runChunk(classifier, x, labels, members, galleryIndices, {
            attack,
            params: entry.params,
            eot: entry.eot,
            eps,
            norm,
            batchSize,
            seed: mixSeed(seed, e, k, c),
            ids: { eps: e, attack: k, chunk: c },
            signal: options.signal,
            onProgress: (fraction) => progress(Math.floor((c + fraction) * members.length), false),
          });
          state.chunks.push(record);
          if (store) await store.save(state);
        } else {
          checkResumedChunk(record, members, store?.location ?? 'the evaluation state');
          resumedChunks++;
        }
        for (const i of record.broken) {
          if (robust[i] === 1) {
            robust[i] = 0;
            brokenBy[i] = k;
            step.broken++;
          }
        }
        for (const g of record.gallery) {
          const values = base64ToFloat32(g.adversarial);
          if (values === null) continue;
          gallery.set(`${e}:${g.index}`, {
            index: g.index,
            eps,
            attack: entry.name,
            prediction: g.prediction,
            adversarial: values,
          });
        }
        step.gradients += record.gradients;
        step.queries += record.queries;
        step.seconds += record.seconds;
        progress(Math.min(targets.length, (c + 1) * chunkSize), resumed);
      }
      steps.push({
        name: entry.name,
        accuracy_after: mean(robust),
        newly_broken: step.broken,
        attacked: targets.length,
        gradients_per_point: step.gradients / n,
        queries_per_point: step.queries / n,
        seconds: step.seconds,
      });
    }
    perEps.push({ eps, robust, brokenBy, robustAccuracy: mean(robust), steps });
  }
  if (store) await store.clear();
  return {
    suite,
    norm,
    seed,
    n,
    labels,
    cleanPredictions,
    cleanAccuracy: mean(correct),
    datasetSha256: dataHash,
    perEps,
    gallery: [...gallery.values()].sort((a, b) => a.eps - b.eps || a.index - b.index),
    resumedChunks,
    seconds: (Date.now() - t0) / 1000,
  };
}

interface ChunkSettings {
  attack: ReturnType<typeof getAttack>;
  params: Readonly<Record<string, unknown>>;
  eot: number;
  eps: number;
  norm: Norm;
  batchSize: number;
  seed: number;
  ids: { eps: number; attack: number; chunk: number };
  signal?: AbortSignal;
  onProgress: (fraction: number) => void;
}

/** Runs one attack on one chunk of points and records what it broke (and the gallery points' outputs). */
async function runChunk(
  classifier: Model,
  x: tf.Tensor4D,
  labels: Int32Array,
  members: Int32Array,
  galleryIndices: ReadonlySet<number>,
  s: ChunkSettings,
): Promise<ChunkRecord> {
  const shown = Array.from(members.keys()).filter((j) => galleryIndices.has(members[j]));
  const xs = tf.tidy(() => tf.gather(x, tf.tensor1d(members, 'int32')));
  try {
    const run = await runAttack(classifier, s.attack, {
      x: xs,
      labels: Int32Array.from(members, (i) => labels[i]),
      eps: s.eps,
      norm: s.norm,
      params: s.params,
      eot: s.eot,
      batchSize: s.batchSize,
      seed: s.seed,
      keepAdversarial: shown.length > 0,
      signal: s.signal,
      onProgress: (p) => s.onProgress(p.fraction),
    });
    try {
      const result = run.results[0];
      const gallery: ChunkRecord['gallery'] = [];
      if (result.adversarial) {
        const pixels = x.shape[1] * x.shape[2] * x.shape[3];
        const values = (await result.adversarial.data()) as Float32Array;
        for (const j of shown) {
          gallery.push({
            index: members[j],
            prediction: result.predictions[j],
            adversarial: float32ToBase64(values.slice(j * pixels, (j + 1) * pixels)),
          });
        }
      }
      return {
        ...s.ids,
        broken: Array.from(members).filter((_, j) => result.success[j] === 1),
        gradients: result.cost.gradients,
        queries: result.cost.queries,
        seconds: result.seconds,
        gallery,
      };
    } finally {
      run.dispose();
    }
  } finally {
    xs.dispose();
  }
}

function chunkId(eps: number, attack: number, chunk: number): string {
  return `${eps}/${attack}/${chunk}`;
}

function indicesOf(flags: Uint8Array): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < flags.length; i++) if (flags[i] === 1) out.push(i);
  return Int32Array.from(out);
}

function validate(classifier: Model, o: EvaluateOptions) {
  const x = o.x;
  if (x.rank !== 4)
    throw invalidArgument(`x must be a batch [n, height, width, channels], got shape [${x.shape}].`);
  const n = x.shape[0];
  if (n === 0) throw invalidArgument('There are no points to evaluate (x is empty).');
  if (o.labels.length !== n) {
    throw invalidArgument(`Got ${o.labels.length} labels for ${n} inputs: give one label per input.`);
  }
  const labels = Int32Array.from(o.labels);
  const bad = labels.findIndex((y) => !(Number.isInteger(y) && y >= 0 && y < classifier.numClasses));
  if (bad >= 0) {
    throw invalidArgument(
      `Label ${labels[bad]} (at index ${bad}) is not a class of this model (0..${classifier.numClasses - 1}).`,
    );
  }
  if (!NORMS.includes(o.norm))
    throw invalidArgument(`Unknown norm '${String(o.norm)}'; expected linf, l2 or l1.`);
  const epsList = [...(typeof o.eps === 'number' ? [o.eps] : o.eps)].sort((a, b) => a - b);
  if (epsList.length === 0) throw invalidArgument('Give at least one eps.');
  for (const eps of epsList) {
    if (!(Number.isFinite(eps) && eps > 0))
      throw invalidArgument(`eps must be positive numbers, got ${eps}.`);
  }
  if (new Set(epsList).size !== epsList.length)
    throw invalidArgument(`eps lists a budget twice: ${epsList}.`);
  const positive = (v: number | undefined, fallback: number, what: string): number => {
    const value = v ?? fallback;
    if (!(Number.isInteger(value) && value > 0))
      throw invalidArgument(`${what} must be a positive integer, got ${v}.`);
    return value;
  };
  const batchSize = positive(o.batchSize, DEFAULT_BATCH, 'batchSize');
  const chunkSize = positive(o.chunkSize, 4 * batchSize, 'chunkSize');
  const galleryCount = o.galleryCount ?? 8;
  if (!(Number.isInteger(galleryCount) && galleryCount >= 0)) {
    throw invalidArgument(`galleryCount must be a non-negative integer, got ${o.galleryCount}.`);
  }
  const suite = resolveSuite(o.suite ?? 'standard', o.norm, o.eot);
  if (suite.entries.length === 0) throw invalidArgument(`The suite has no attack for ${o.norm}.`);
  for (const entry of suite.entries) {
    const attack = getAttack(entry.attack);
    if (!attack.norms.includes(o.norm)) {
      throw invalidArgument(
        `'${entry.name}' has no ${o.norm} version (it supports ${attack.norms.join(', ')}).`,
      );
    }
  }
  return {
    x,
    n,
    labels,
    norm: o.norm,
    epsList,
    suite,
    seed: checkSeed(o.seed ?? 0),
    batchSize,
    chunkSize,
    galleryCount,
  };
}
