import * as tf from '@tensorflow/tfjs-core';
import path from 'node:path';
import { runAttack, type AttackRun } from '../../attacks/run-attack.js';
import {
  checkCompatible,
  scoreTransfer,
  withoutEarlyStop,
  type TransferReport,
} from '../../attacks/transfer.js';
import { toTensors, type ImageDataset } from '../../data/dataset.js';
import { writeFileAtomic } from '../../data/node/atomic-write.js';
import { invalidArgument } from '../../errors.js';
import type { Classifier } from '../../models/classifier.js';
import { renderGallery, type GallerySection } from '../../render/node/gallery.js';
import { loadModelSample } from '../dataset-sample.js';
import type { CliIo } from '../main.js';
import type { AttackCliOptions, AttackJob } from './attack.js';
import {
  AMPLIFY,
  adversarialOf,
  budgetLabel,
  className,
  examplePictures,
  flagLine,
  NORM_LABEL,
  percent,
  top1,
} from './attack-shared.js';
import { summarizeResult, summaryTable, type BudgetSummary } from './attack-summary.js';

const DEFAULT_GALLERY = 100;

/** What dataset mode writes beside the gallery (and prints with --json). */
export interface AttackSummary {
  attack: string;
  title: string;
  norm: string;
  params: Readonly<Record<string, unknown>>;
  goal: string;
  model: string;
  backend: string;
  dataset: string;
  split: string;
  n: number;
  /** 'first n' or 'random (seed s)'. */
  sample: string;
  seed: number;
  /** Passes averaged per gradient (EOT); 1 without. */
  eot: number;
  batchSize: number;
  cleanAccuracy: number;
  results: BudgetSummary[];
  seconds: number;
  gallery: string | null;
  /** With --transfer-to: how the adversarial inputs crafted on the model fare on the target model. */
  transfer?: TransferSummary;
}

export interface TransferSummary {
  model: string;
  targetCleanAccuracy: number;
  results: {
    eps: number | null;
    transferRate: number;
    eligible: number;
    transferred: number;
    targetSuccessRate: number;
    targetAccuracy: number;
  }[];
}

/**
 * Dataset mode: attacks a sample of a dataset (the model's own by default), prints a short table per budget,
 * and writes a gallery PNG (--out) and a JSON summary (--summary, or beside --out).
 */
export async function attackDataset(job: AttackJob, opts: AttackCliOptions, io: CliIo): Promise<void> {
  const { classifier } = job;
  const t0 = Date.now();
  const { sample: ds } = await loadModelSample(classifier, opts);
  const labels = modelLabels(ds, classifier);
  const x = inputs(ds, classifier);
  const gallery = opts.out === undefined ? null : path.resolve(opts.out);
  const summaryFile =
    opts.summary !== undefined
      ? path.resolve(opts.summary)
      : gallery === null
        ? null
        : gallery.replace(/\.png$/i, '.json');
  if (job.transfer) checkCompatible(classifier, job.transfer.classifier);
  try {
    const run = await runAttack(classifier, job.attack, {
      x,
      labels,
      goal: job.target.goal,
      eps: job.budgets?.map((b) => b.value),
      norm: job.norm,
      params: job.transfer ? (withoutEarlyStop(job.attack, job.params) ?? {}) : job.params,
      batchSize: job.batchSize,
      seed: job.seed,
      eot: job.eot,
      keepAdversarial: gallery !== null || job.transfer !== undefined,
      signal: job.signal,
      onProgress: job.onProgress,
    });
    try {
      job.endProgress();
      const summary: AttackSummary = {
        attack: job.attack.name,
        title: job.attack.title,
        norm: job.norm,
        params: run.params,
        goal: job.target.description,
        model: path.resolve(job.modelDir),
        backend: job.backend,
        dataset: ds.name,
        split: ds.split,
        n: ds.count,
        sample: opts.seed === undefined ? 'first n' : `random (seed ${opts.seed})`,
        seed: run.seed,
        eot: job.eot,
        batchSize: job.batchSize,
        cleanAccuracy: run.cleanAccuracy,
        results: run.results.map((r) => summarizeResult(run, r, job.budgets)),
        seconds: 0,
        gallery,
      };
      if (job.transfer) {
        const report = await scoreTransfer(run, job.transfer.classifier, x, {
          batchSize: job.batchSize,
          signal: job.signal,
        });
        summary.transfer = transferSummary(job.transfer.modelDir, report);
      }
      summary.seconds = (Date.now() - t0) / 1000;
      if (gallery !== null) {
        const shown = Math.min(opts.gallery ?? DEFAULT_GALLERY, ds.count);
        const png = await renderGallery(await gallerySections(job, ds, x, run, summary, shown), {
          title:
            `${job.attack.name} (${job.norm}), ${job.target.description}, on ${ds.name}/${ds.split}: ` +
            `model ${path.basename(job.modelDir)}, clean accuracy ${percent(run.cleanAccuracy)}`,
          legend: `each cell: original | adversarial | perturbation ×${AMPLIFY}; clean → adversarial prediction (red: goal met)`,
        });
        await writeFileAtomic(gallery, png);
      }
      if (summaryFile !== null) {
        await writeFileAtomic(summaryFile, Buffer.from(JSON.stringify(summary, null, 2) + '\n'));
      }
      if (opts.json) io.stdout(JSON.stringify(summary, null, 2) + '\n');
      else io.stdout(datasetText(job, summary, [gallery, summaryFile]));
    } finally {
      run.dispose();
    }
  } finally {
    x.dispose();
  }
}

function transferLines(t: TransferSummary | undefined, budgets: BudgetSummary[]): string[] {
  if (t === undefined) return [];
  return [
    `transfer to ${t.model} (clean accuracy ${percent(t.targetCleanAccuracy)}):`,
    ...t.results.map(
      (r, i) =>
        `  eps ${budgets[i].epsText}: ${r.transferred}/${r.eligible} transferred (${percent(r.transferRate)}), ` +
        `target accuracy ${percent(t.targetCleanAccuracy)} -> ${percent(r.targetAccuracy)}`,
    ),
  ];
}

function transferSummary(modelDir: string, report: TransferReport): TransferSummary {
  return {
    model: path.resolve(modelDir),
    targetCleanAccuracy: report.targetCleanAccuracy,
    results: report.results.map((r) => ({
      eps: r.eps,
      transferRate: r.transferRate,
      eligible: r.eligible,
      transferred: r.transferred,
      targetSuccessRate: r.targetSuccessRate,
      targetAccuracy: r.targetAccuracy,
    })),
  };
}

/** The sample's pixels scaled into the model's bounds. */
function inputs(ds: ImageDataset, classifier: Classifier): tf.Tensor4D {
  const { x, y } = toTensors(ds);
  y.dispose();
  const [lo, hi] = classifier.bounds;
  if (lo === 0 && hi === 1) return x;
  const scaled = tf.tidy(() => tf.add<tf.Tensor4D>(tf.mul(x, hi - lo), lo));
  x.dispose();
  return scaled;
}

/**
 * The dataset's labels as the model's class indices. Usually the same classes in the same order; an image
 * folder labelled in another order (Keras ImageNet ids for a Darknet-order model) is matched by class name.
 */
function modelLabels(ds: ImageDataset, classifier: Classifier): Int32Array {
  if (ds.classNames.every((name, i) => classifier.classNames[i] === name)) return Int32Array.from(ds.labels);
  const index = new Map<string, number>();
  classifier.classNames.forEach((name, i) => {
    if (!index.has(name)) index.set(name, i);
  });
  return ds.labels.map((label) => {
    const name = ds.classNames[label];
    const i = index.get(name);
    if (i === undefined) {
      throw invalidArgument(
        `Dataset '${ds.name}' has class '${name}' (label ${label}), which is not a class of the model; ` +
          'give --labels or --label-map so that the names agree.',
      );
    }
    return i;
  });
}

async function gallerySections(
  job: AttackJob,
  ds: ImageDataset,
  x: tf.Tensor4D,
  run: AttackRun,
  summary: AttackSummary,
  shown: number,
): Promise<GallerySection[]> {
  const { classifier } = job;
  const head = tf.slice(x, [0, 0, 0, 0], [shown, -1, -1, -1]);
  const cleanValues = (await head.data()) as Float32Array;
  head.dispose();
  const sections: GallerySection[] = [];
  for (const [e, result] of run.results.entries()) {
    const advHead = tf.slice(adversarialOf(result), [0, 0, 0, 0], [shown, -1, -1, -1]);
    const advValues = (await advHead.data()) as Float32Array;
    const after = await top1(classifier, advHead, job.batchSize);
    advHead.dispose();
    const s = summary.results[e];
    sections.push({
      title:
        `${budgetLabel(result, job.budgets)}: success ${percent(s.successRate)}, robust accuracy ` +
        `${percent(s.robustAccuracy)} (${ds.count} images, the first ${shown} shown)`,
      cells: Array.from({ length: shown }, (_, i) => {
        const aim = run.targets
          ? `target ${className(classifier, run.targets[i])}`
          : `true ${className(classifier, run.labels[i])}`;
        const d = result.distances[job.norm][i];
        return {
          ...examplePictures(classifier, cleanValues, advValues, i),
          caption: `${className(classifier, run.cleanPredictions[i])} → ${className(classifier, after[i].index)} ${percent(after[i].confidence)}`,
          detail: `${aim} · ${NORM_LABEL[job.norm]} ${d.toPrecision(3)}`,
          success: result.success[i] === 1,
        };
      }),
    });
  }
  return sections;
}

function datasetText(job: AttackJob, s: AttackSummary, written: (string | null)[]): string {
  const files = written.filter((f): f is string => f !== null);
  return (
    [
      `model: ${job.modelDir} (backend: ${s.backend})`,
      `attack: ${s.attack} (${s.norm}), ${s.goal}; ${flagLine(s.params)}`,
      `data: ${s.dataset}/${s.split}, ${s.n} images (${s.sample}); clean accuracy ${percent(s.cleanAccuracy)}`,
      summaryTable(s.results, job.norm).trimEnd(),
      'distances: medians over the images the model got right and the attack fooled',
      ...transferLines(s.transfer, s.results),
      files.length > 0
        ? `wrote ${files.join(', ')}`
        : '(give --out <file.png> to save a gallery and a JSON summary)',
    ].join('\n') + '\n'
  );
}
