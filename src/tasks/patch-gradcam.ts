import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type OutputInfo } from 'sharp';
import { applyPatch, type PatchShape } from '../attacks/patch/index.js';
import type { ResolvedPatchTraining } from '../attacks/patch/patch-options.js';
import { patchMask, renderPlan, type Placement } from '../attacks/patch/placement.js';
import type { PatchEvaluation } from '../attacks/patch/evaluate-patch.js';
import { engineName } from '../backend/backend.js';
import { writeFileAtomic } from '../data/node/atomic-write.js';
import { AdvkitError, invalidArgument } from '../errors.js';
import { modelSha256 } from '../evaluate/fingerprint.js';
import { explain } from '../explain/explain.js';
import { camLayer } from '../explain/grad-cam.js';
import { classIndex } from '../explain/targets.js';
import type { Classifier } from '../models/classifier.js';
import { renderPatchGradcam, type PatchGradcamRow } from '../render/node/patch-gradcam-png.js';
import { imageFromValues, type PixelImage } from '../render/pixel-image.js';
import { loadImageInputs } from './model-data.js';
import { openModel } from './model-source.js';
import { patchTask, photoFiles, type PatchTaskProgress } from './patch.js';
import {
  PATCH_GRADCAM_DEFAULT_IMAGES,
  PATCH_GRADCAM_DEFAULT_MODEL,
  patchGradcamSchema,
  type PatchGradcamSpec,
  type PatchPosition,
} from './patch-gradcam-spec.js';
import { parseSpec } from './spec.js';
import {
  jsonArtifact,
  type Task,
  type TaskContext,
  type TaskInput,
  type TaskOutput,
  type TaskResult,
} from './task.js';

export interface PredictedClass {
  index: number;
  name: string;
  probability: number;
}

/** Per map: the share of its mass on the patch region (null for an all-zero map) and whether its peak is there. */
export interface CamOnRegion {
  share: number | null;
  peakInPatch: boolean | null;
}

export interface PatchGradcamPhoto {
  /** Relative to the photo folder. */
  file: string;
  /** The model's prediction on the photo, and on the photo with the patch. */
  clean: PredictedClass;
  patched: PredictedClass;
  /** The clean prediction's probability once the patch is on. */
  cleanClassAfter: number;
  /** The model's prediction with uniform noise of the patch's size and outline at the same place. */
  noise: PredictedClass;
  /** Grad-CAM of the clean prediction on the photo (the region without the patch). */
  before: CamOnRegion;
  /** Grad-CAM of the patched photo's prediction on it. */
  after: CamOnRegion;
  /** Grad-CAM of the clean prediction on the patched photo. */
  afterCleanClass: CamOnRegion;
  /** Grad-CAM of the prediction on the photo with the noise patch: what any occluder there draws. */
  noisePatch: CamOnRegion;
}

/** Means over the photos whose map is not all zero, and the fraction of peaks inside the patch. */
export interface CamSummary {
  meanShare: number;
  maps: number;
  peaksInPatch: number;
}

export interface PatchGradcamResult extends TaskResult {
  task: 'patch-gradcam';
  schemaVersion: 1;
  model: { name: string; dir: string };
  backend: string;
  images: string;
  /** The held-out photos: the odd ones of the sorted folder (the patch task trains on the even ones). */
  photos: PatchGradcamPhoto[];
  target: { index: number; name: string };
  patch: {
    /** 'trained' in this run, 'reused' from the state directory, or the PNG file given. */
    source: 'trained' | 'reused' | string;
    pixels: number;
    shape: PatchShape;
    /** The patch task's training and its held-out success at random placements (absent for a given PNG). */
    training?: {
      options: ResolvedPatchTraining;
      seconds: number;
      gradients: number;
      train: PatchEvaluation;
      heldOut: PatchEvaluation;
      randomPatch: PatchEvaluation;
    };
  };
  /** Where the patch is pasted on every photo, in pixels (top-left corner of its square, unrotated). */
  placement: { position: PatchPosition; left: number; top: number; side: number; rotation: 0 };
  /** The patch's area share of the image: the share of a map spread evenly (chance). */
  areaShare: number;
  /**
   * The share of a map that is the patch region itself seen at the layer's resolution (average-pooled onto the
   * layer's grid, upsampled as Grad-CAM upsamples): about the most a map confined to the patch can show.
   */
  ceiling: number;
  layer: string;
  /** Photos the patch turns into the target at this placement, of those not already predicted as the target. */
  success: { hits: number; photos: number; rate: number };
  summary: { before: CamSummary; after: CamSummary; afterCleanClass: CamSummary; noisePatch: CamSummary };
  seconds: { patch: number; gradcam: number; total: number };
  command?: string;
  notes: string[];
}

export type PatchGradcamProgress =
  { stage: 'patch'; progress: PatchTaskProgress } | { stage: 'gradcam'; done: number; total: number };

export interface PatchGradcamContext extends TaskContext<PatchGradcamProgress> {
  /** The command line that reproduces the run, recorded in the result. */
  command?: string;
}

export interface PatchGradcamTask extends Task<
  typeof patchGradcamSchema,
  PatchGradcamResult,
  PatchGradcamProgress
> {
  run(
    spec: TaskInput<typeof patchGradcamSchema>,
    ctx?: PatchGradcamContext,
  ): Promise<TaskOutput<PatchGradcamResult>>;
}

const RESULT_FILE = 'patch-gradcam.json';
const PICTURE_FILE = 'patch-gradcam.png';
const PATCH_FILE = 'patch.png';
const STATE_FILE = 'patch-training.json';
const STATE_FORMAT = 'advkit-patch-gradcam-state/1';
/** The same files the patch task's folder mode reads (tasks/patch.ts), in the same order. */

/** The four Grad-CAM maps of every held-out photo, by what they explain. */
const MAPS = ['before', 'after', 'afterCleanClass', 'noisePatch'] as const;

/**
 * Where Grad-CAM looks once an adversarial patch is on the photo (Brown et al. 2017's universal patch;
 * Selvaraju et al. 2017's Grad-CAM). The patch is the patch task's (trained on the even photos of the folder,
 * kept in the state directory so that a rerun reuses it) or a patch PNG; it is pasted, unrotated and at its own
 * size, at one fixed place on every held-out (odd) photo. Grad-CAM of the clean prediction on the photo, of the
 * new prediction and of the clean one on the patched photo, and, as a control, of the prediction with uniform
 * noise of the same outline at the same place; for each map the share of its mass inside the patch region
 * (pixels weighted by how much of them the patch covers) against the patch's area share (chance), and whether
 * its peak lies there. Artifacts: the result JSON, the picture and the patch PNG.
 */
export const patchGradcamTask: PatchGradcamTask = {
  name: 'patch-gradcam',
  title: 'Grad-CAM before and after an adversarial patch: how much of the map moves onto the patch',
  schema: patchGradcamSchema,
  async run(input, ctx: PatchGradcamContext = {}) {
    const started = performance.now();
    const spec = parseSpec(patchGradcamSchema, input, 'patch-gradcam');
    const modelRef = defaultUnder(spec.model, 'ADVKIT_MODELS', PATCH_GRADCAM_DEFAULT_MODEL, 'model');
    const imagesDir = path.resolve(
      defaultUnder(spec.images, 'ADVKIT_DATA', PATCH_GRADCAM_DEFAULT_IMAGES, 'images'),
    );
    if (spec.patch !== undefined && !existsSync(spec.patch)) {
      throw new AdvkitError(
        'NOT_FOUND',
        `'patch': ${spec.patch} does not exist; give a PNG written by advkit patch.`,
        {
          option: 'patch',
        },
      );
    }
    const files = photoFiles(imagesDir);
    const heldOut = files.filter((_, i) => i % 2 === 1);
    const notes: string[] = [];
    const source = await openModel(modelRef, { defaultName: modelRef, labels: spec.labels, flag: "'model'" });
    const model = source.model;
    const owned: tf.Tensor[] = [];
    try {
      const target = classIndex(model, spec.target);
      const camAt = camLayer(model, spec.layer, 'patch-gradcam');
      const layer = camAt.name;
      const [h, w, channels] = model.inputShape;
      if (spec.patch === undefined) {
        // Before minutes of training: the side trainPatch will give the patch must fit at the placement.
        fixedPlacement(spec.position, spec.margin, Math.max(1, Math.round(spec.size * Math.min(h, w))), h, w);
      }
      const patchStarted = performance.now();
      const patch = await obtainPatch(model, spec, { dir: source.dir, imagesDir, files, target }, ctx, notes);
      const patchSeconds = patch.source === 'trained' ? (performance.now() - patchStarted) / 1000 : 0;
      const placement = fixedPlacement(spec.position, spec.margin, patch.side, h, w);
      const region = renderPlan(
        [placement],
        { height: h, width: w },
        patch.side,
        patchMask(patch.side, patch.shape),
      ).coverage;
      const areaShare = region.reduce((s, v) => s + v, 0) / (h * w);
      const ceiling = resolutionCeiling(region, [h, w], [camAt.shape[0], camAt.shape[1]]);

      const camStarted = performance.now();
      const x = await loadImageInputs(
        model,
        heldOut.map((f) => path.join(imagesDir, f)),
      );
      owned.push(x);
      const patchTensor = tf.tensor3d(patch.values, [patch.side, patch.side, channels]);
      owned.push(patchTensor);
      const [lo, hi] = model.bounds;
      const noise = tf.randomUniform<tf.Rank.R3>(patchTensor.shape, lo, hi, 'float32', spec.seed);
      owned.push(noise);
      const paste = (p: tf.Tensor3D): tf.Tensor4D =>
        applyPatch(x, p, { shape: patch.shape, position: { x: placement.left, y: placement.top } });
      const patched = paste(patchTensor);
      owned.push(patched);
      const noisy = paste(noise);
      owned.push(noisy);
      const cleanP = await classify(model, x);
      const patchedP = await classify(model, patched);
      const noisyP = await classify(model, noisy);
      const camOf = async (images: tf.Tensor4D, classes: Int32Array, step: number): Promise<Float32Array> => {
        ctx.onProgress?.({ stage: 'gradcam', done: step, total: MAPS.length });
        const a = await explain(model, 'gradcam', {
          x: images,
          target: classes,
          layer,
          batchSize: 16,
          signal: ctx.signal,
        });
        try {
          return (await a.maps.data()) as Float32Array;
        } finally {
          a.maps.dispose();
        }
      };
      const cams = {
        before: await camOf(x, cleanP.classes, 0),
        after: await camOf(patched, patchedP.classes, 1),
        afterCleanClass: await camOf(patched, cleanP.classes, 2),
        noisePatch: await camOf(noisy, noisyP.classes, 3),
      };
      ctx.onProgress?.({ stage: 'gradcam', done: MAPS.length, total: MAPS.length });
      const size = h * w;
      const mapOf = (which: (typeof MAPS)[number], i: number): Float32Array =>
        cams[which].subarray(i * size, (i + 1) * size);
      const named = (p: Prediction, i: number): PredictedClass => ({
        index: p.classes[i],
        name: model.classNames[p.classes[i]],
        probability: p.probabilityOf(i, p.classes[i]),
      });
      const photos: PatchGradcamPhoto[] = heldOut.map((file, i) => ({
        file,
        clean: named(cleanP, i),
        patched: named(patchedP, i),
        cleanClassAfter: patchedP.probabilityOf(i, cleanP.classes[i]),
        noise: named(noisyP, i),
        before: onRegion(mapOf('before', i), region),
        after: onRegion(mapOf('after', i), region),
        afterCleanClass: onRegion(mapOf('afterCleanClass', i), region),
        noisePatch: onRegion(mapOf('noisePatch', i), region),
      }));
      const eligible = photos.filter((p) => p.clean.index !== target);
      const hits = eligible.filter((p) => p.patched.index === target).length;
      if (eligible.length < photos.length) {
        notes.push(
          `${photos.length - eligible.length} held-out photos are already predicted as the target without the patch`,
        );
      }
      const summary = Object.fromEntries(MAPS.map((m) => [m, summarize(photos.map((p) => p[m]))])) as Record<
        (typeof MAPS)[number],
        CamSummary
      >;
      const camSeconds = (performance.now() - camStarted) / 1000;

      const xValues = (await x.data()) as Float32Array;
      const patchedValues = (await patched.data()) as Float32Array;
      const pct = (v: number | null): string =>
        v === null ? 'zero map' : `${(100 * v).toFixed(0)}% on patch`;
      const photoSize = h * w * channels;
      const rows: PatchGradcamRow[] = photos.map((p, i) => {
        const img = (values: Float32Array): PixelImage =>
          imageFromValues(
            values.subarray(i * photoSize, (i + 1) * photoSize),
            [h, w, channels],
            model.bounds,
          );
        return {
          label: [path.dirname(p.file), path.parse(p.file).name].filter((part) => part !== '.').join('\n'),
          clean: img(xValues),
          patched: img(patchedValues),
          camBefore: mapOf('before', i),
          camAfter: mapOf('after', i),
          camAfterOriginal: mapOf('afterCleanClass', i),
          captions: [
            `${p.clean.name} ${p.clean.probability.toFixed(2)}`,
            pct(p.before.share),
            `${p.patched.name} ${p.patched.probability.toFixed(2)}`,
            pct(p.after.share),
            pct(p.afterCleanClass.share),
          ],
        };
      });
      const share = (s: CamSummary): string => `${(100 * s.meanShare).toFixed(0)}%`;
      const png = await renderPatchGradcam(rows, {
        title: `Grad-CAM (${layer}) of ${source.name} before and after a '${model.classNames[target]}' patch`,
        legend:
          `held-out photos; mass inside the outlined patch: ${share(summary.before)} before, ` +
          `${share(summary.after)} after (area ${(100 * areaShare).toFixed(1)}%)`,
        side: 128,
        region,
      });
      const result: PatchGradcamResult = {
        task: 'patch-gradcam',
        schemaVersion: 1,
        model: { name: source.name, dir: source.dir },
        backend: engineName(),
        images: imagesDir,
        photos,
        target: { index: target, name: model.classNames[target] },
        patch: {
          source: patch.source,
          pixels: patch.side,
          shape: patch.shape,
          ...(patch.training !== undefined ? { training: patch.training } : {}),
        },
        placement: {
          position: spec.position,
          left: placement.left,
          top: placement.top,
          side: patch.side,
          rotation: 0,
        },
        areaShare,
        ceiling,
        layer,
        success: { hits, photos: eligible.length, rate: eligible.length === 0 ? 0 : hits / eligible.length },
        summary,
        seconds: { patch: patchSeconds, gradcam: camSeconds, total: (performance.now() - started) / 1000 },
        ...(ctx.command !== undefined ? { command: ctx.command } : {}),
        notes,
      };
      return {
        result,
        artifacts: [
          jsonArtifact(RESULT_FILE, result),
          { name: PICTURE_FILE, mediaType: 'image/png', bytes: new Uint8Array(png) },
          { name: PATCH_FILE, mediaType: 'image/png', bytes: patch.png },
        ],
      };
    } finally {
      tf.dispose(owned);
      model.dispose();
    }
  },
};

/** The spec's value, or `name` under the folder an environment variable names; neither is a user error. */
function defaultUnder(given: string | undefined, env: string, name: string, option: string): string {
  if (given !== undefined) return given;
  const root = process.env[env];
  if (root === undefined || root === '') {
    throw invalidArgument(
      `patch-gradcam: '${option}' is not given and $${env} is not set; give '${option}' or set ${env} to the ` +
        `folder that holds ${name}.`,
      { option },
    );
  }
  return path.join(root, name);
}

/** A patch in the model's input space, with its outline, its PNG and where it came from. */
interface PatchInUse {
  values: Float32Array;
  side: number;
  shape: PatchShape;
  png: Uint8Array;
  source: PatchGradcamResult['patch']['source'];
  training?: PatchGradcamResult['patch']['training'];
}

/** The patch PNG given, the one trained by an earlier run with the same settings, or a fresh one. */
async function obtainPatch(
  model: Classifier,
  spec: PatchGradcamSpec,
  where: { dir: string; imagesDir: string; files: readonly string[]; target: number },
  ctx: PatchGradcamContext,
  notes: string[],
): Promise<PatchInUse> {
  if (spec.patch !== undefined) {
    const png = new Uint8Array(await readFile(spec.patch));
    return { ...(await decodePatch(png, model, spec.patch)), png, source: path.resolve(spec.patch) };
  }
  const key = {
    sha256: await modelSha256(model),
    images: where.imagesDir,
    train: where.files.filter((_, i) => i % 2 === 0),
    target: where.target,
    size: spec.size,
    steps: spec.steps,
    batchSize: spec.batchSize,
    learningRate: spec.learningRate,
    seed: spec.seed,
  };
  const stateDir = ctx.stateDir === undefined ? undefined : path.resolve(ctx.stateDir);
  if (stateDir !== undefined) {
    const saved = await readState(stateDir);
    if (saved !== undefined && JSON.stringify(saved.key) === JSON.stringify(key)) {
      const png = new Uint8Array(await readFile(path.join(stateDir, PATCH_FILE)));
      ctx.onNote?.(`reusing the patch trained with the same settings in ${stateDir}`);
      return {
        ...(await decodePatch(png, model, PATCH_FILE)),
        png,
        source: 'reused',
        training: saved.training,
      };
    }
  }
  const { result, artifacts } = await patchTask.run(
    {
      model: where.dir,
      ...(spec.labels !== undefined ? { labels: spec.labels } : {}),
      images: where.imagesDir,
      target: String(where.target),
      size: spec.size,
      steps: spec.steps,
      batchSize: spec.batchSize,
      learningRate: spec.learningRate,
      seed: spec.seed,
    },
    {
      signal: ctx.signal,
      onProgress: (progress) => ctx.onProgress?.({ stage: 'patch', progress }),
      onNote: (note) => {
        notes.push(note);
        ctx.onNote?.(note);
      },
    },
  );
  const png = artifacts.find((a) => a.name === PATCH_FILE)?.bytes;
  if (png === undefined) throw new AdvkitError('INTERNAL', 'The patch task returned no patch.png.');
  const training = {
    options: result.options,
    seconds: result.seconds,
    gradients: result.gradients,
    train: result.train,
    heldOut: result.heldOut,
    randomPatch: result.randomPatch,
  };
  if (stateDir !== undefined) {
    await writeFileAtomic(path.join(stateDir, PATCH_FILE), png);
    const state = { format: STATE_FORMAT, key, training };
    await writeFileAtomic(
      path.join(stateDir, STATE_FILE),
      new TextEncoder().encode(JSON.stringify(state, null, 2) + '\n'),
    );
  }
  return { ...(await decodePatch(png, model, 'the trained patch')), png, source: 'trained', training };
}

async function readState(
  dir: string,
): Promise<{ key: unknown; training: NonNullable<PatchInUse['training']> } | undefined> {
  const file = path.join(dir, STATE_FILE);
  if (!existsSync(file) || !existsSync(path.join(dir, PATCH_FILE))) return undefined;
  try {
    const saved: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (typeof saved !== 'object' || saved === null || Reflect.get(saved, 'format') !== STATE_FORMAT)
      return undefined;
    return saved as { key: unknown; training: NonNullable<PatchInUse['training']> };
  } catch {
    return undefined;
  }
}

/**
 * A patch PNG as patchPng (render/node/patch-png.ts) writes it: a square RGBA image, bytes mapped onto the
 * model's bounds (grey for one-channel models), opaque inside the patch and transparent outside a disc.
 */
export async function decodePatch(
  png: Uint8Array,
  model: Classifier,
  what: string,
): Promise<{ values: Float32Array; side: number; shape: PatchShape }> {
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await sharp(png).ensureAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new AdvkitError(
      'CORRUPT_DATA',
      `Cannot decode ${what}: ${err instanceof Error ? err.message : String(err)}.`,
    );
  }
  const { width, height, channels: stride } = raw.info;
  if (width !== height) {
    throw invalidArgument(
      `'patch': ${what} is ${width}x${height}; a patch is square (a PNG written by advkit patch).`,
      {
        option: 'patch',
      },
    );
  }
  const side = width;
  const alpha = Uint8Array.from({ length: side * side }, (_, p) => raw.data[p * stride + 3]);
  const shape: PatchShape | undefined = alpha.every((a) => a === 255)
    ? 'square'
    : patchMask(side, 'circle').every((m, p) => (alpha[p] >= 128 ? 1 : 0) === m)
      ? 'circle'
      : undefined;
  if (shape === undefined) {
    throw invalidArgument(
      `'patch': ${what}'s transparency is neither none (a square patch) nor outside a centred disc (a circle patch).`,
      { option: 'patch' },
    );
  }
  const channels = model.inputShape[2];
  const [lo, hi] = model.bounds;
  const values = new Float32Array(side * side * channels);
  for (let p = 0; p < side * side; p++) {
    const rgb = [0, 1, 2].map((k) => raw.data[p * stride + k]);
    const bytes = channels === 1 ? [(rgb[0] + rgb[1] + rgb[2]) / 3] : rgb;
    bytes.forEach((b, k) => (values[p * channels + k] = lo + (b / 255) * (hi - lo)));
  }
  return { values, side, shape };
}

/** The top-left corner of the patch square at `position`, `margin` of the image side from the edges. */
function fixedPlacement(
  position: PatchPosition,
  margin: number,
  side: number,
  h: number,
  w: number,
): Placement & { left: number; top: number } {
  if (side > h || side > w) {
    throw invalidArgument(`'patch': the patch is ${side} px across and the model's images ${h}x${w}.`, {
      option: 'patch',
    });
  }
  const inset = Math.round(margin * Math.min(h, w));
  const along = (extent: number, start: boolean, end: boolean): number =>
    start ? inset : end ? extent - side - inset : Math.round((extent - side) / 2);
  const left = along(w, position.endsWith('left'), position.endsWith('right'));
  const top = along(h, position.startsWith('top'), position.startsWith('bottom'));
  if (left < 0 || top < 0) {
    throw invalidArgument(
      `'margin' ${margin}: a ${side} px patch ${inset} px from the edges does not fit in ${h}x${w} images.`,
      { option: 'margin' },
    );
  }
  return { left, top, centerX: left + side / 2, centerY: top + side / 2, side, rotation: 0 };
}

/** onRegion's share for the region itself, pooled onto a [lh, lw] grid and upsampled bilinearly to [h, w]. */
function resolutionCeiling(
  region: Float32Array,
  [h, w]: [number, number],
  [lh, lw]: [number, number],
): number {
  const up = tf.tidy(() => {
    const r = tf.tensor4d(region, [1, h, w, 1]);
    const down =
      h % lh === 0 && w % lw === 0
        ? tf.avgPool(r, [h / lh, w / lw], [h / lh, w / lw], 'valid')
        : tf.image.resizeBilinear(r, [lh, lw], false, true);
    // Upsampled as Grad-CAM upsamples its maps.
    return tf.image.resizeBilinear(down, [h, w], false, true);
  });
  const values = up.dataSync();
  up.dispose();
  return onRegion(values, region).share ?? 0;
}

/** Predicted classes and softmax probabilities of a batch. */
interface Prediction {
  classes: Int32Array;
  probabilityOf(row: number, cls: number): number;
}

async function classify(model: Classifier, x: tf.Tensor4D): Promise<Prediction> {
  const probs = tf.tidy(() => tf.softmax(model.logits(x)));
  const classes = tf.tidy(() => tf.argMax(probs, 1));
  const [p, c] = [(await probs.data()) as Float32Array, Int32Array.from(await classes.data())];
  tf.dispose([probs, classes]);
  const k = model.numClasses;
  return { classes: c, probabilityOf: (row, cls) => p[row * k + cls] };
}

/** The share of a non-negative map's mass on the region (pixel weights 0..1), and whether its peak is there. */
export function onRegion(map: ArrayLike<number>, region: ArrayLike<number>): CamOnRegion {
  if (map.length !== region.length) {
    throw invalidArgument(`onRegion: a map of ${map.length} values and a region of ${region.length}.`);
  }
  let [total, inside, peak, at] = [0, 0, -Infinity, -1];
  for (let p = 0; p < map.length; p++) {
    total += map[p];
    inside += map[p] * region[p];
    if (map[p] > peak) [peak, at] = [map[p], p];
  }
  if (!(total > 0)) return { share: null, peakInPatch: null };
  return { share: inside / total, peakInPatch: region[at] >= 0.5 };
}

function summarize(maps: readonly CamOnRegion[]): CamSummary {
  const shares = maps.flatMap((m) => (m.share === null ? [] : [m.share]));
  const peaks = maps.filter((m) => m.peakInPatch === true).length;
  return {
    meanShare: shares.length === 0 ? 0 : shares.reduce((s, v) => s + v, 0) / shares.length,
    maps: shares.length,
    peaksInPatch: shares.length === 0 ? 0 : peaks / shares.length,
  };
}
