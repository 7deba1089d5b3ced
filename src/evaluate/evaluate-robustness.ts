import * as tf from '@tensorflow/tfjs-core';
import { throwIfAborted } from '../attacks/attack-context.js';
import { mean, predictClasses } from '../attacks/predict-classes.js';
import { getAttack } from '../attacks/registry.js';
import { runAttack } from '../attacks/run-attack.js';
import { NORMS, type Norm } from '../attacks/types.js';
import { AdvkitError, invalidArgument } from '../errors.js';
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
  /**
   * Runs the chunks of one stage (an attack at an eps) that the saved state lacks, elsewhere (e.g. on queue
   * workers, each calling `evaluateChunk` with the same options): called once per stage with its missing chunks,
   * it returns their records in the same order. Without it, chunks run here one after another.
   */
  executeChunks?: (requests: ChunkRequest[]) => Promise<ChunkRecord[]>;
  signal?: AbortSignal;
  onProgress?: (progress: EvaluationProgress) => void;
}

/**
 * One chunk of an evaluation, as plain JSON for another process: which stage (indices into the sorted eps and
 * the suite), which chunk, and the points it attacks. `key` identifies the evaluation (model, data, settings):
 * a worker whose own key differs refuses the chunk rather than compute a different evaluation's.
 */
export interface ChunkRequest {
  key: string;
  ids: { eps: number; attack: number; chunk: number };
  members: number[];
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
/** Mixed into a chunk's seed for a random model's draws, so that they do not repeat the attack's random stream. */
const RESEED_SALT = 0x5eed;

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
  const key = stateKey(setup, options.modelKey, dataHash);
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
      const membersOf = (c: number): Int32Array => targets.slice(c * chunkSize, (c + 1) * chunkSize);
      const saved = Array.from({ length: chunks }, (_, c) => done.get(chunkId(e, k, c)));
      const elsewhere = options.executeChunks
        ? await runElsewhere(options.executeChunks, key, e, k, saved, membersOf, options.signal)
        : new Map<number, ChunkRecord>();
      if (elsewhere.size > 0) {
        state.chunks.push(...elsewhere.values());
        if (store) await store.save(state);
      }
      for (let c = 0; c < chunks; c++) {
        throwIfAborted(options.signal);
        const members = membersOf(c);
        let record = saved[c] ?? elsewhere.get(c);
        const resumed = saved[c] !== undefined;
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
        } else if (resumed) {
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
  // A random model's draws start from the chunk's seed (mixed apart from the attack's own stream), so the chunk's
  // result depends on nothing run before it.
  classifier.reseed?.(mixSeed(s.seed, RESEED_SALT));
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

/** Sends a stage's missing chunks to `execute` and checks what comes back against what was asked. */
async function runElsewhere(
  execute: (requests: ChunkRequest[]) => Promise<ChunkRecord[]>,
  key: string,
  e: number,
  k: number,
  saved: readonly (ChunkRecord | undefined)[],
  membersOf: (c: number) => Int32Array,
  signal: AbortSignal | undefined,
): Promise<Map<number, ChunkRecord>> {
  const missing = saved.flatMap((r, c) => (r === undefined ? [c] : []));
  if (missing.length === 0) return new Map();
  throwIfAborted(signal);
  const requests = missing.map((c) => ({
    key,
    ids: { eps: e, attack: k, chunk: c },
    members: Array.from(membersOf(c)),
  }));
  const records = await execute(requests);
  if (records.length !== requests.length) {
    throw new AdvkitError(
      'INTERNAL',
      `The chunk executor returned ${records.length} records for ${requests.length} chunks.`,
    );
  }
  const out = new Map<number, ChunkRecord>();
  records.forEach((record, i) => {
    const c = missing[i];
    if (record.eps !== e || record.attack !== k || record.chunk !== c) {
      throw new AdvkitError(
        'INTERNAL',
        `The chunk executor returned chunk ${chunkId(record.eps, record.attack, record.chunk)} for ${chunkId(e, k, c)}.`,
      );
    }
    checkResumedChunk(record, membersOf(c), 'a chunk run elsewhere');
    out.set(c, record);
  });
  return out;
}

/**
 * Runs one chunk of the evaluation that `options` describe, as `evaluateRobustness` with the same options would
 * (same points, same seed): the worker side of `executeChunks`. Refuses a request whose key is not this
 * evaluation's (another model, data or settings on this machine).
 */
export async function evaluateChunk(
  classifier: Model,
  options: EvaluateOptions,
  request: ChunkRequest,
): Promise<ChunkRecord> {
  const setup = validate(classifier, options);
  const key = stateKey(setup, options.modelKey, await datasetSha256(setup.x, setup.labels));
  if (request.key !== key) {
    throw invalidArgument(
      'This chunk belongs to a different evaluation than the one this worker set up (the model, the data or ' +
        'the settings differ): give every worker the same model files, data and advkit version.',
    );
  }
  const { eps: e, attack: k, chunk: c } = request.ids;
  const entry = setup.suite.entries[k];
  const eps = setup.epsList[e];
  const ok = (i: number): boolean => Number.isInteger(i) && i >= 0 && i < setup.n;
  if (entry === undefined || eps === undefined || !(Number.isInteger(c) && c >= 0)) {
    throw invalidArgument(`The chunk ${chunkId(e, k, c)} is not a chunk of this evaluation.`);
  }
  if (
    request.members.length === 0 ||
    request.members.length > setup.chunkSize ||
    !request.members.every(ok)
  ) {
    throw invalidArgument(
      `A chunk lists 1 to ${setup.chunkSize} points numbered 0 to ${setup.n - 1}; got ${JSON.stringify(request.members)}.`,
    );
  }
  const galleryIndices = new Set(Array.from({ length: Math.min(setup.n, setup.galleryCount) }, (_, i) => i));
  return runChunk(classifier, setup.x, setup.labels, Int32Array.from(request.members), galleryIndices, {
    attack: getAttack(entry.attack),
    params: entry.params,
    eot: entry.eot,
    eps,
    norm: setup.norm,
    batchSize: setup.batchSize,
    seed: mixSeed(setup.seed, e, k, c),
    ids: { eps: e, attack: k, chunk: c },
    signal: options.signal,
    onProgress: () => undefined,
  });
}

/** What identifies an evaluation's work: a saved state or a chunk request with another key is not this one's. */
function stateKey(
  setup: ReturnType<typeof validate>,
  modelKey: string | undefined,
  dataHash: string,
): string {
  return JSON.stringify({
    model: modelKey ?? null,
    data: dataHash,
    norm: setup.norm,
    eps: setup.epsList,
    suite: setup.suite.entries,
    seed: setup.seed,
    batchSize: setup.batchSize,
    chunkSize: setup.chunkSize,
  });
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
