import * as tf from '@tensorflow/tfjs-core';
import path from 'node:path';
import { runAttack, type AttackRun } from '../../attacks/run-attack.js';
import { writeFileAtomic } from '../../data/node/atomic-write.js';
import { readImageFile } from '../../data/node/image-file.js';
import { renderAttackFigure, type AttackFigureRow } from '../../render/node/attack-figure.js';
import type { CliIo } from '../main.js';
import type { AttackCliOptions, AttackJob } from './attack.js';
import {
  AMPLIFY,
  adversarialOf,
  budgetLabel,
  className,
  distanceText,
  examplePictures,
  flagLine,
  percent,
  top1,
  type Top1,
} from './attack-shared.js';

interface ShownClass {
  label: string;
  index: number;
  confidence: number;
}

/**
 * Image mode: attacks the files as one batch, using the model's clean prediction as each image's label, then
 * prints before -> after per image and budget and writes one PNG (a row per image and budget).
 */
export async function attackImages(
  job: AttackJob,
  files: string[],
  opts: AttackCliOptions,
  io: CliIo,
): Promise<void> {
  const { classifier } = job;
  const x = await readImages(job, files);
  try {
    const clean = await top1(classifier, x, job.batchSize);
    const run = await runAttack(classifier, job.attack, {
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
      job.endProgress();
      const after = await Promise.all(
        run.results.map((r) => top1(classifier, adversarialOf(r), job.batchSize)),
      );
      const out = opts.out === undefined ? null : path.resolve(opts.out);
      if (out !== null) {
        const png = await renderAttackFigure(await figureRows(job, files, x, run, clean, after), {
          title: `${job.attack.name} (${job.norm}), ${job.target.description}; model ${path.basename(job.modelDir)}`,
          amplify: AMPLIFY,
        });
        await writeFileAtomic(out, png);
      }
      if (opts.json)
        io.stdout(JSON.stringify(imagesJson(job, files, run, clean, after, out), null, 2) + '\n');
      else io.stdout(imagesText(job, files, run, clean, after, out));
    } finally {
      run.dispose();
    }
  } finally {
    x.dispose();
  }
}

/** The files decoded at the model's input size (centre crop) and scaled into its bounds, as one batch. */
async function readImages(job: AttackJob, files: string[]): Promise<tf.Tensor4D> {
  const [h, w, c] = job.classifier.inputShape;
  const [lo, hi] = job.classifier.bounds;
  const size = h * w * c;
  const values = new Float32Array(files.length * size);
  for (const [i, file] of files.entries()) {
    const img = await readImageFile(file, { size: [h, w], channels: c === 1 ? 1 : 3 });
    for (let p = 0; p < size; p++) values[i * size + p] = lo + (img.pixels[p] / 255) * (hi - lo);
  }
  return tf.tensor4d(values, [files.length, h, w, c]);
}

async function figureRows(
  job: AttackJob,
  files: string[],
  x: tf.Tensor4D,
  run: AttackRun,
  clean: Top1[],
  after: Top1[][],
): Promise<AttackFigureRow[]> {
  const { classifier } = job;
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

function outcome(job: AttackJob, success: boolean): string {
  if (job.target.goal === 'untargeted') return success ? 'fooled' : 'not fooled';
  return success ? 'reached the target' : 'missed the target';
}

function imagesText(
  job: AttackJob,
  files: string[],
  run: AttackRun,
  clean: Top1[],
  after: Top1[][],
  out: string | null,
): string {
  const { classifier } = job;
  const name = (t: Top1): string => `${className(classifier, t.index)} ${percent(t.confidence)}`;
  const lines = [
    `model: ${job.modelDir} (backend: ${job.backend})`,
    `attack: ${job.attack.name} (${job.norm}), ${job.target.description}; ${flagLine(run.params)}`,
  ];
  files.forEach((file, i) => {
    run.results.forEach((r, e) => {
      const target =
        run.targets && job.target.index === null ? `, target ${className(classifier, run.targets[i])}` : '';
      lines.push(
        `${file} [${budgetLabel(r, job.budgets)}${target}]: ${name(clean[i])} -> ${name(after[e][i])}  ` +
          `${outcome(job, r.success[i] === 1)} (${distanceText(r, i, job.norm)})`,
      );
    });
  });
  for (const r of run.results) {
    const n = files.length;
    lines.push(
      `cost [${budgetLabel(r, job.budgets)}]: ${(r.cost.gradients / n).toFixed(0)} gradients and ` +
        `${(r.cost.queries / n).toFixed(0)} queries per image, ${r.seconds.toFixed(1)} s`,
    );
  }
  lines.push(out === null ? '(give --out <file.png> to save the pictures)' : `wrote ${out}`);
  return lines.join('\n') + '\n';
}

function imagesJson(
  job: AttackJob,
  files: string[],
  run: AttackRun,
  clean: Top1[],
  after: Top1[][],
  out: string | null,
): unknown {
  const { classifier } = job;
  const shown = (t: Top1): ShownClass => ({
    label: className(classifier, t.index),
    index: t.index,
    confidence: t.confidence,
  });
  const n = files.length;
  return {
    model: job.modelDir,
    backend: job.backend,
    attack: job.attack.name,
    norm: job.norm,
    params: run.params,
    goal: job.target.description,
    seed: run.seed,
    eot: job.eot,
    eps: run.results.map((r) => r.eps),
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
    out,
  };
}
