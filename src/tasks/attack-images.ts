import type * as tf from '@tensorflow/tfjs-core';
import path from 'node:path';
import { AdvkitError } from '../errors.js';
import { runAttack, type AttackRun } from '../attacks/run-attack.js';
import { renderAttackFigure, type AttackFigureRow } from '../render/node/attack-figure.js';
import type { AttackJob } from './attack.js';
import {
  AMPLIFY,
  adversarialOf,
  budgetLabel,
  className,
  epsText,
  distanceText,
  examplePictures,
  top1,
  type Top1,
} from './attack-shared.js';
import sharp from 'sharp';
import { imageFromValues } from '../render/pixel-image.js';
import { loadGivenInputs, type GivenInputs } from './model-data.js';
import type { Artifact } from './task.js';

interface ShownClass {
  label: string;
  index: number;
  confidence: number;
}

/** What image mode returns (and `advkit attack --image --json` prints). */
export interface ImagesResult {
  task: 'attack';
  schemaVersion: 1;
  mode: 'images';
  model: string;
  /** The input-transform defense the model was behind, when there was one. */
  defense?: string;
  backend: string;
  attack: string;
  norm: string;
  params: Readonly<Record<string, unknown>>;
  goal: string;
  /** How the target was chosen: a fixed class, or one per image ('least-likely', 'random'). */
  targetMode: 'untargeted' | 'fixed' | 'least-likely' | 'random';
  seed: number;
  eot: number;
  eps: (number | null)[];
  /** The budgets as the user wrote them ('8/255'), in the order of `eps`. */
  epsText: string[];
  images: {
    source: string;
    clean: ShownClass;
    target: { label: string; index: number } | null;
    results: {
      eps: number | null;
      prediction: ShownClass;
      success: boolean;
      distances: { l0: number; l1: number; l2: number; linf: number };
    }[];
  }[];
  cost: { eps: number | null; gradientsPerImage: number; queriesPerImage: number; seconds: number }[];
  /** Where the surface wrote the picture; null when it was not asked for. */
  out: string | null;
  notes: string[];
}

/**
 * Image mode: attacks the files (or raw inputs) as one batch, using the model's clean prediction as each
 * image's label; the result has before -> after per image and budget, with `job.pictures` one PNG (a row per
 * image and budget) as the artifact 'attack.png', and with `job.adversarialImages` each adversarial image as
 * 'adversarial-<image>-<eps index>.png' (at the model's input size, 8 bits per channel).
 */
export async function attackImages(
  job: AttackJob,
  given: GivenInputs,
): Promise<{ result: ImagesResult; artifacts: Artifact[] }> {
  const { model } = job;
  const loaded = await loadGivenInputs(model, given);
  if (loaded === undefined)
    throw new AdvkitError('INTERNAL', 'attackImages needs image files or raw inputs.');
  const { x, sources: files } = loaded;
  try {
    const clean = await top1(job.attacked, x, job.batchSize);
    const run = await runAttack(job.attacked, job.attack, {
      x,
      labels: clean.map((t) => t.index),
      goal: job.target.goal,
      eps: job.budgets?.map((b) => b.value),
      norm: job.norm,
      params: job.params,
      batchSize: job.batchSize,
      seed: job.seed,
      eot: job.eot,
      signal: job.signal,
      onProgress: job.onProgress,
    });
    try {
      const after = await Promise.all(
        run.results.map((r) => top1(job.attacked, adversarialOf(r), job.batchSize)),
      );
      const artifacts: Artifact[] = [];
      if (job.pictures) {
        const png = await renderAttackFigure(await figureRows(job, files, x, run, clean, after), {
          title: `${job.attack.name} (${job.norm}), ${job.target.description}; model ${path.basename(job.modelDir)}`,
          amplify: AMPLIFY,
        });
        artifacts.push({ name: 'attack.png', mediaType: 'image/png', bytes: png });
      }
      if (job.adversarialImages === true) artifacts.push(...(await adversarialPngs(job, run)));
      return { result: imagesResult(job, files, run, clean, after), artifacts };
    } finally {
      run.dispose();
    }
  } finally {
    x.dispose();
  }
}

/** Each adversarial input as a PNG of its own, at the model's input size. */
async function adversarialPngs(job: AttackJob, run: AttackRun): Promise<Artifact[]> {
  const { inputShape, bounds } = job.model;
  const size = inputShape[0] * inputShape[1] * inputShape[2];
  const out: Artifact[] = [];
  for (const [e, result] of run.results.entries()) {
    const values = (await adversarialOf(result).data()) as Float32Array;
    for (let i = 0; i * size < values.length; i++) {
      const img = imageFromValues(values.subarray(i * size, (i + 1) * size), inputShape, bounds);
      const raw = { width: img.width, height: img.height, channels: img.channels };
      const png = await sharp(img.data, { raw }).png().toBuffer();
      out.push({ name: `adversarial-${i}-${e}.png`, mediaType: 'image/png', bytes: new Uint8Array(png) });
    }
  }
  return out;
}

async function figureRows(
  job: AttackJob,
  files: readonly string[],
  x: tf.Tensor4D,
  run: AttackRun,
  clean: Top1[],
  after: Top1[][],
): Promise<AttackFigureRow[]> {
  const classifier = job.model;
  const cleanValues = (await x.data()) as Float32Array;
  const advValues = await Promise.all(
    run.results.map(async (r) => (await adversarialOf(r).data()) as Float32Array),
  );
  const shown = (t: Top1): { label: string; confidence: number } => ({
    label: className(classifier, t.index),
    confidence: t.confidence,
  });
  return files.flatMap((file, i) =>
    run.results.map((result, e) => ({
      name: path.basename(file),
      budget: budgetLabel(result, job.budgets),
      ...examplePictures(classifier, cleanValues, advValues[e], i),
      clean: shown(clean[i]),
      adversarialPrediction: shown(after[e][i]),
      success: result.success[i] === 1,
      distance: distanceText(result, i, job.norm),
    })),
  );
}

function imagesResult(
  job: AttackJob,
  files: readonly string[],
  run: AttackRun,
  clean: Top1[],
  after: Top1[][],
): ImagesResult {
  const classifier = job.model;
  const shown = (t: Top1): ShownClass => ({
    label: className(classifier, t.index),
    index: t.index,
    confidence: t.confidence,
  });
  const n = files.length;
  return {
    task: 'attack',
    schemaVersion: 1,
    mode: 'images',
    model: job.modelDir,
    ...(job.defense !== undefined ? { defense: job.defense } : {}),
    backend: job.backend,
    attack: job.attack.name,
    norm: job.norm,
    params: run.params,
    goal: job.target.description,
    targetMode: typeof job.target.goal === 'string' ? job.target.goal : 'fixed',
    seed: run.seed,
    eot: job.eot,
    eps: run.results.map((r) => r.eps),
    epsText: run.results.map((r) => epsText(r, job.budgets)),
    images: files.map((file, i) => ({
      source: file,
      clean: shown(clean[i]),
      target: run.targets ? { label: className(classifier, run.targets[i]), index: run.targets[i] } : null,
      results: run.results.map((r, e) => ({
        eps: r.eps,
        prediction: shown(after[e][i]),
        success: r.success[i] === 1,
        distances: {
          l0: r.distances.l0[i],
          l1: r.distances.l1[i],
          l2: r.distances.l2[i],
          linf: r.distances.linf[i],
        },
      })),
    })),
    cost: run.results.map((r) => ({
      eps: r.eps,
      gradientsPerImage: r.cost.gradients / n,
      queriesPerImage: r.cost.queries / n,
      seconds: r.seconds,
    })),
    out: null,
    notes: run.notes,
  };
}
