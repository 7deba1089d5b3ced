import * as tf from '@tensorflow/tfjs-core';
import { throwIfAborted } from '../attacks/attack-context.js';
import { pgd } from '../attacks/pgd.js';
import { predictClasses } from '../attacks/predict-classes.js';
import { runAttack } from '../attacks/run-attack.js';
import { imageSize, take, toTensors, type ImageDataset } from '../data/dataset.js';
import { AdvkitError, invalidArgument } from '../errors.js';
import type { Model } from '../models/model.js';
import { Rng } from '../util/rng.js';
import { mixSeed } from '../util/seeded-math-random.js';
import { crc32 } from './checkpoint.js';
import type { ChunkStore } from './chunk-store.js';
import { fingerprintData } from './resume.js';

/**
 * The datasets of Ilyas, Santurkar, Tsipras, Engstrom, Tran & Madry 2019, "Adversarial Examples Are Not Bugs,
 * They Are Features" (NeurIPS), section 3.2: every training image x of class y is pushed by a targeted attack on
 * a standard model towards a class t and labelled t. A person sees a mislabelled image; a model trained on these
 * pairs only, from scratch, still classifies the real test set well above chance, because the perturbations carry
 * the non-robust features of t.
 *
 * - 'det' (D_det): t = (y + 1) mod k. Robust features now point to the wrong class; for two classes t is simply
 *   the other class.
 * - 'rand' (D_rand): t drawn uniformly, seeded, among all k classes, so that robust features are uncorrelated
 *   with t. About 1 in k images draws its own class: runAttack leaves such an image as it is (the paper pushes
 *   it further into its class), and it is kept, correctly labelled, when the model labels it y. (Drawing among the
 *   other k - 1 classes only would make robust features anti-correlated with t: a model that learns them then
 *   scores below chance, as the first trials here did.)
 */
export const RELABEL_RULES = ['det', 'rand'] as const;
export type RelabelRule = (typeof RELABEL_RULES)[number];

export interface RelabelOptions {
  rule: RelabelRule;
  /** The attack: targeted PGD (attacks/pgd.ts) without random start, its loss the cross-entropy of t. */
  norm: 'l2' | 'linf';
  eps: number;
  steps: number;
  /** Absolute step size in input units. */
  stepSize: number;
  /**
   * true: keep the first point of the path that the model labels t (a minimal adversarial example); false:
   * run every step and keep the last point, as the paper does.
   */
  earlyStop: boolean;
  /**
   * Keep images whose stored (8-bit) version the source model does not label t, still labelled t (the paper
   * keeps all); default false: only images that reached their target go into the dataset.
   */
  keepFailures?: boolean;
  /** Images per saved chunk (default 1000). */
  chunkSize?: number;
  /** Images per attack pass (default 128). */
  batchSize?: number;
  /** Seed of the random targets (default 0). */
  seed?: number;
}

export interface RelabelProgress {
  rule: RelabelRule;
  /** Images attacked (or read back from saved chunks) so far, of total, counting the chunk in progress. */
  done: number;
  total: number;
  /** Images of finished chunks, and how many of them the source model labels with their target. */
  checked: number;
  successes: number;
}

export interface RelabelHooks {
  /** Where finished chunks are saved and, on a rerun, read back instead of attacked again. */
  store?: ChunkStore;
  /**
   * Identifies the source model (e.g. the sha256 of its weights); part of each chunk's key, so that a chunk
   * made with another model is refused rather than mixed in.
   */
  sourceKey?: string;
  signal?: AbortSignal;
  onProgress?: (p: RelabelProgress) => void;
}

export interface RelabelStats {
  images: number;
  /** Images whose target is their own class (D_rand): not attacked, kept as they are. */
  ownClass: number;
  /** Images in the relabelled dataset. */
  kept: number;
  /** Success as runAttack scored it, on the float result (an image of the target's own class never counts). */
  attackSuccessRate: number;
  /** Success of the stored images (rounded to 8 bits): the source model labels them t. */
  successRate: number;
  /** L2 and Linf distances of the stored images to the clean ones, in [0, 1] units. */
  meanL2: number;
  maxL2: number;
  maxLinf: number;
  /** Attack seconds and gradient evaluations, summed over every process that worked on it (resumes too). */
  seconds: number;
  gradients: number;
  chunks: number;
  /** Chunks read back from the store rather than computed in this call. */
  resumedChunks: number;
}

export interface RelabelledDataset {
  /** The kept images, labelled with their targets, as bytes (what a training run reads). */
  dataset: ImageDataset;
  /** For each kept image, its position in the input data. */
  sourceIndices: Int32Array;
  /** Per input image: its target, the source model's class for its stored version, and success flags. */
  targets: Int32Array;
  predictions: Int32Array;
  success: Uint8Array;
  attackSuccess: Uint8Array;
  l2: Float32Array;
  stats: RelabelStats;
}

/** The targets of `rule` for labels among k classes; 'rand' draws from a stream seeded by `seed`. */
export function relabelTargets(
  labels: ArrayLike<number>,
  numClasses: number,
  rule: RelabelRule,
  seed = 0,
): Int32Array {
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw invalidArgument(`Relabelling needs at least 2 classes, got ${numClasses}.`);
  }
  if (!RELABEL_RULES.includes(rule)) {
    throw invalidArgument(`rule must be one of ${RELABEL_RULES.join(', ')}, got '${String(rule)}'.`);
  }
  const rng = new Rng(mixSeed(seed, 0x72616e64));
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    out[i] = rule === 'det' ? (y + 1) % numClasses : rng.int(numClasses);
  }
  return out;
}

const CHUNK_MAGIC = 'ADVKRLBL';
const CHUNK_FORMAT = 'advkit-relabel-chunk/1';
const PREFIX = CHUNK_MAGIC.length + 8;

interface ChunkHeader {
  format: typeof CHUNK_FORMAT;
  key: string;
  chunk: number;
  start: number;
  count: number;
  seconds: number;
  gradients: number;
}

interface Chunk extends ChunkHeader {
  /** count x image bytes. */
  pixels: Uint8Array;
  predictions: Int32Array;
  attackSuccess: Uint8Array;
}

/** MAGIC | header length u32 | CRC-32 of the rest u32 | header JSON | pixels | predictions int32 LE | flags. */
export function encodeChunk(c: Chunk): Uint8Array {
  const { pixels, predictions, attackSuccess, ...header } = c;
  const head = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(
    PREFIX + head.length + pixels.length + 4 * predictions.length + attackSuccess.length,
  );
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(CHUNK_MAGIC), 0);
  view.setUint32(8, head.length, true);
  let at = PREFIX;
  out.set(head, at);
  at += head.length;
  out.set(pixels, at);
  at += pixels.length;
  for (let i = 0; i < predictions.length; i++) view.setInt32(at + 4 * i, predictions[i], true);
  at += 4 * predictions.length;
  out.set(attackSuccess, at);
  view.setUint32(12, crc32(out.subarray(PREFIX)), true);
  return out;
}

/** Parses a chunk; a damaged or foreign one is CORRUPT_DATA naming `source`. */
export function decodeChunk(bytes: Uint8Array, source: string, imageBytes: number): Chunk {
  const corrupt = (what: string): AdvkitError =>
    new AdvkitError(
      'CORRUPT_DATA',
      `${source} is damaged: ${what}. Delete it and rerun to redo that chunk.`,
      {
        file: source,
      },
    );
  if (
    bytes.length < PREFIX ||
    new TextDecoder().decode(bytes.subarray(0, CHUNK_MAGIC.length)) !== CHUNK_MAGIC
  ) {
    throw corrupt('it is not a chunk of a relabelled dataset (bad magic)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headLength = view.getUint32(8, true);
  if (PREFIX + headLength > bytes.length) throw corrupt('it is truncated');
  if (crc32(bytes.subarray(PREFIX)) !== view.getUint32(12, true))
    throw corrupt('its checksum does not match');
  let header: ChunkHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(PREFIX, PREFIX + headLength))) as ChunkHeader;
  } catch {
    throw corrupt('its header is not JSON');
  }
  const { count } = header;
  if (header.format !== CHUNK_FORMAT || !Number.isInteger(count) || count < 0) {
    throw corrupt(`its header is not a ${CHUNK_FORMAT} header`);
  }
  const expected = PREFIX + headLength + count * (imageBytes + 5);
  if (bytes.length !== expected) throw corrupt(`it has ${bytes.length} bytes, expected ${expected}`);
  let at = PREFIX + headLength;
  const pixels = bytes.slice(at, at + count * imageBytes);
  at += count * imageBytes;
  const predictions = new Int32Array(count);
  for (let i = 0; i < count; i++) predictions[i] = view.getInt32(at + 4 * i, true);
  at += 4 * count;
  return { ...header, pixels, predictions, attackSuccess: bytes.slice(at, at + count) };
}

/** JSON with object keys sorted, so that equal settings give the same key whatever order they were set in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

function checkOptions(o: RelabelOptions): Required<RelabelOptions> {
  const r: Required<RelabelOptions> = {
    keepFailures: false,
    chunkSize: 1000,
    batchSize: 128,
    seed: 0,
    ...o,
  };
  const positive = (name: keyof RelabelOptions, v: number, integer: boolean): void => {
    if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
      throw invalidArgument(
        `relabel: ${name} must be ${integer ? 'an integer >= 1' : 'a number > 0'}, got ${v}.`,
        {
          option: name,
        },
      );
    }
  };
  positive('eps', r.eps, false);
  positive('stepSize', r.stepSize, false);
  positive('steps', r.steps, true);
  positive('chunkSize', r.chunkSize, true);
  positive('batchSize', r.batchSize, true);
  if (r.norm !== 'l2' && r.norm !== 'linf') {
    throw invalidArgument(`relabel: norm must be l2 or linf, got '${String(r.norm)}'.`, { option: 'norm' });
  }
  return r;
}

function checkFits(model: Model, data: ImageDataset): void {
  const [h, w, c] = model.inputShape;
  if (data.height !== h || data.width !== w || data.channels !== c) {
    throw invalidArgument(
      `Dataset '${data.name}' has ${data.height}x${data.width}x${data.channels} images but the model expects ${h}x${w}x${c}.`,
    );
  }
  if (data.classNames.length !== model.numClasses) {
    throw invalidArgument(
      `Dataset '${data.name}' has ${data.classNames.length} classes but the model has ${model.numClasses}: its labels must be the model's classes.`,
    );
  }
  if (model.bounds[0] !== 0 || model.bounds[1] !== 1) {
    throw invalidArgument(
      `The relabelled images are stored as bytes read as value/255 (as training reads them), so the model's inputs must be in [0, 1]; its bounds are [${model.bounds.join(', ')}].`,
    );
  }
  if (data.count === 0) throw invalidArgument(`Dataset '${data.name}' is empty.`);
}

/**
 * Builds D_det or D_rand from `data` with the source `model`: targeted PGD towards each image's target, the
 * result rounded to bytes (what is stored is what a training run sees), scored again on those bytes, and the
 * images whose stored version the model labels with its target kept, labelled with it (all of them with
 * keepFailures). Work is done in chunks of chunkSize images; with a store each finished chunk is saved and a
 * rerun reads the saved ones back, so a run stopped at any point ends with the dataset an uninterrupted run
 * gives. The chunks are keyed by the options, the data and hooks.sourceKey; a chunk with another key is refused.
 */
export async function relabelAdversarially(
  model: Model,
  data: ImageDataset,
  options: RelabelOptions,
  hooks: RelabelHooks = {},
): Promise<RelabelledDataset> {
  const o = checkOptions(options);
  checkFits(model, data);
  const n = data.count;
  const size = imageSize(data);
  const k = model.numClasses;
  const targets = relabelTargets(data.labels, k, o.rule, o.seed);
  const key = canonical({
    format: CHUNK_FORMAT,
    options: o,
    source: hooks.sourceKey ?? null,
    data: fingerprintData(data),
  });
  const adversarial = new Uint8Array(n * size);
  const predictions = new Int32Array(n);
  const attackSuccess = new Uint8Array(n);
  const chunks = Math.ceil(n / o.chunkSize);
  let [seconds, gradients, resumedChunks, done, successes] = [0, 0, 0, 0, 0];
  const report = (): void => hooks.onProgress?.({ rule: o.rule, done, total: n, checked: done, successes });
  for (let c = 0; c < chunks; c++) {
    const start = c * o.chunkSize;
    const count = Math.min(o.chunkSize, n - start);
    const name = `${o.rule}-${String(c).padStart(5, '0')}.chunk`;
    const saved = await hooks.store?.read(name);
    let chunk: Chunk;
    if (saved !== null && saved !== undefined) {
      const where = `${hooks.store?.location ?? ''}/${name}`;
      chunk = decodeChunk(saved, where, size);
      if (chunk.key !== key || chunk.chunk !== c || chunk.start !== start || chunk.count !== count) {
        throw invalidArgument(
          `${where} belongs to another run (other options, data or source model). Use another state directory, or delete it to start afresh.`,
        );
      }
      resumedChunks++;
    } else {
      throwIfAborted(hooks.signal);
      // Within a chunk, progress stops short of its end: an image counts as done once its chunk is saved.
      const within = (fraction: number): void =>
        hooks.onProgress?.({
          rule: o.rule,
          done: done + Math.min(count - 1, Math.floor(fraction * count)),
          total: n,
          checked: done,
          successes,
        });
      chunk = await attackChunk(model, data, o, { c, start, count, key, targets }, hooks, within);
      await hooks.store?.write(name, encodeChunk(chunk));
    }
    adversarial.set(chunk.pixels, start * size);
    predictions.set(chunk.predictions, start);
    attackSuccess.set(chunk.attackSuccess, start);
    seconds += chunk.seconds;
    gradients += chunk.gradients;
    done += count;
    for (let i = start; i < start + count; i++) successes += Number(predictions[i] === targets[i]);
    report();
  }

  const success = Uint8Array.from(predictions, (p, i) => Number(p === targets[i]));
  const l2 = new Float32Array(n);
  let maxLinf = 0;
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let p = i * size; p < (i + 1) * size; p++) {
      const d = (adversarial[p] - data.pixels[p]) / 255;
      sum += d * d;
      maxLinf = Math.max(maxLinf, Math.abs(d));
    }
    l2[i] = Math.sqrt(sum);
  }
  const keptRows: number[] = [];
  for (let i = 0; i < n; i++) if (o.keepFailures || success[i] === 1) keptRows.push(i);
  const sourceIndices = Int32Array.from(keptRows);
  // Adversarial images are never the bundled sample, whatever the clean ones were.
  const relabelled: ImageDataset = {
    ...data,
    sample: undefined,
    name: `${data.name}-${o.rule}`,
    pixels: adversarial,
    labels: targets,
    classNames: [...data.classNames],
    notes: [
      ...(data.notes ?? []),
      `adversarially relabelled (${o.rule}): targeted ${o.norm} PGD eps ${o.eps} on the source model, labelled with the target`,
    ],
  };
  const mean = (a: ArrayLike<number>): number => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i];
    return a.length === 0 ? 0 : s / a.length;
  };
  return {
    dataset: take(relabelled, sourceIndices),
    sourceIndices,
    targets,
    predictions,
    success,
    attackSuccess,
    l2,
    stats: {
      images: n,
      ownClass: targets.reduce((count, t, i) => count + Number(t === data.labels[i]), 0),
      kept: sourceIndices.length,
      attackSuccessRate: mean(attackSuccess),
      successRate: mean(success),
      meanL2: mean(l2),
      maxL2: l2.reduce((m, v) => Math.max(m, v), 0),
      maxLinf,
      seconds,
      gradients,
      chunks,
      resumedChunks,
    },
  };
}

/** One chunk: attack, round to bytes, score the bytes. Every tensor is disposed. */
async function attackChunk(
  model: Model,
  data: ImageDataset,
  o: Required<RelabelOptions>,
  at: { c: number; start: number; count: number; key: string; targets: Int32Array },
  hooks: RelabelHooks,
  onFraction: (fraction: number) => void,
): Promise<Chunk> {
  const t0 = performance.now();
  const { start, count } = at;
  const rows = Int32Array.from({ length: count }, (_, i) => start + i);
  const { x, y } = toTensors(data, rows);
  y.dispose();
  const size = imageSize(data);
  const pixels = new Uint8Array(count * size);
  let gradients: number;
  let attackSuccess: Uint8Array;
  try {
    const run = await runAttack(model, pgd, {
      x,
      labels: data.labels.subarray(start, start + count),
      goal: { target: at.targets.subarray(start, start + count) },
      eps: o.eps,
      norm: o.norm,
      params: {
        steps: o.steps,
        stepSize: o.stepSize,
        randomStart: false,
        earlyStop: o.earlyStop,
        restarts: 1,
      },
      batchSize: o.batchSize,
      seed: mixSeed(o.seed, at.c),
      signal: hooks.signal,
      onProgress: (p) => onFraction(p.fraction),
    });
    try {
      const result = run.results[0];
      if (result.adversarial === null)
        throw new AdvkitError('INTERNAL', 'runAttack kept no adversarial images.');
      const values = await result.adversarial.data();
      for (let i = 0; i < values.length; i++)
        pixels[i] = Math.min(255, Math.max(0, Math.round(values[i] * 255)));
      attackSuccess = result.success.slice();
      gradients = result.cost.gradients;
    } finally {
      run.dispose();
    }
  } finally {
    x.dispose();
  }
  const stored = tf.tensor4d(
    Float32Array.from(pixels, (v) => v / 255),
    [count, data.height, data.width, data.channels],
    'float32',
  );
  let predictions: Int32Array;
  try {
    predictions = await predictClasses(model, stored, { batchSize: o.batchSize, signal: hooks.signal });
  } finally {
    stored.dispose();
  }
  return {
    format: CHUNK_FORMAT,
    key: at.key,
    chunk: at.c,
    start,
    count,
    seconds: (performance.now() - t0) / 1000,
    gradients,
    pixels,
    predictions,
    attackSuccess,
  };
}
