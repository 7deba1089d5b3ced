import * as tf from '@tensorflow/tfjs-core';
import path from 'node:path';
import { runAttack, type AttackRun } from '../attacks/run-attack.js';
import {
  checkCompatible,
  scoreTransfer,
  withoutEarlyStop,
  type TransferReport,
} from '../attacks/transfer.js';
import { renderGallery, type GallerySection } from '../render/node/gallery.js';
import type { AttackJob } from './attack.js';
import {
  AMPLIFY,
  adversarialOf,
  budgetLabel,
  className,
  examplePictures,
  NORM_LABEL,
  percent,
  top1,
} from './attack-shared.js';
import { summarizeResult, type BudgetSummary } from './attack-summary.js';
import { loadModelSample, type DataRequest, type ModelSample } from './model-data.js';
import { jsonArtifact, type Artifact } from './task.js';

const DEFAULT_GALLERY = 100;

/** What dataset mode writes beside the gallery (and prints with --json). */
export interface AttackSummary {
  task: 'attack';
  schemaVersion: 1;
  mode: 'dataset';
  attack: string;
  title: string;
  norm: string;
  params: Readonly<Record<string, unknown>>;
  goal: string;
  model: string;
  /** The input-transform defense the model was behind, when there was one. */
  defense?: string;
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
  /** Where the surface wrote the gallery; null when it was not asked for. */
  gallery: string | null;
  /** Facts about the data or the run a reader must know (a bundled sample, unattacked examples). */
  notes: string[];
  /** Set when the images came from the sample bundled with advkit: what it holds. */
  datasetSample?: string;
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
 * Dataset mode: attacks a sample of a dataset (the model's own by default); the result is the summary per
 * budget, and with `job.pictures` a gallery PNG ('gallery.png') beside the summary ('summary.json').
 */
export async function attackDataset(
  job: AttackJob,
  data: DataRequest,
): Promise<{ result: AttackSummary; artifacts: Artifact[] }> {
  const { model } = job;
  const t0 = Date.now();
  if (job.transfer) checkCompatible(model, job.transfer.model);
  const sample = await loadModelSample(model, data);
  const { x } = sample;
  try {
    const run = await runAttack(job.attacked, job.attack, {
      x,
      labels: sample.labels,
      goal: job.target.goal,
      eps: job.budgets?.map((b) => b.value),
      norm: job.norm,
      params: job.transfer ? (withoutEarlyStop(job.attack, job.params) ?? {}) : job.params,
      batchSize: job.batchSize,
      seed: job.seed,
      eot: job.eot,
      keepAdversarial: job.pictures || job.transfer !== undefined,
      signal: job.signal,
      onProgress: job.onProgress,
    });
    try {
      const summary: AttackSummary = {
        task: 'attack',
        schemaVersion: 1,
        mode: 'dataset',
        attack: job.attack.name,
        title: job.attack.title,
        norm: job.norm,
        params: run.params,
        goal: job.target.description,
        model: path.resolve(job.modelDir),
        ...(job.defense !== undefined ? { defense: job.defense } : {}),
        backend: job.backend,
        dataset: sample.info.name,
        split: sample.info.split,
        n: sample.info.n,
        sample: data.seed === undefined ? 'first n' : `random (seed ${data.seed})`,
        seed: run.seed,
        eot: job.eot,
        batchSize: job.batchSize,
        cleanAccuracy: run.cleanAccuracy,
        results: run.results.map((r) => summarizeResult(run, r, job.budgets)),
        seconds: 0,
        gallery: null,
        notes: [...sample.info.notes, ...run.notes],
        ...(sample.info.sample !== undefined ? { datasetSample: sample.info.sample.description } : {}),
      };
      if (job.transfer) {
        const report = await scoreTransfer(run, job.transfer.model, x, {
          batchSize: job.batchSize,
          signal: job.signal,
        });
        summary.transfer = transferSummary(job.transfer.dir, report);
      }
      summary.seconds = (Date.now() - t0) / 1000;
      const artifacts: Artifact[] = [];
      if (job.pictures) {
        const shown = Math.min(job.galleryCount ?? DEFAULT_GALLERY, sample.info.n);
        const png = await renderGallery(await gallerySections(job, sample, run, summary, shown), {
          title:
            `${job.attack.name} (${job.norm}), ${job.target.description}, on ${sample.info.name}/${sample.info.split}: ` +
            `model ${path.basename(job.modelDir)}, clean accuracy ${percent(run.cleanAccuracy)}`,
          legend: `each cell: original | adversarial | perturbation ×${AMPLIFY}; clean → adversarial prediction (red: goal met)`,
        });
        artifacts.push(
          { name: 'gallery.png', mediaType: 'image/png', bytes: png },
          jsonArtifact('summary.json', summary),
        );
      }
      return { result: summary, artifacts };
    } finally {
      run.dispose();
    }
  } finally {
    x.dispose();
  }
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

async function gallerySections(
  job: AttackJob,
  sample: ModelSample,
  run: AttackRun,
  summary: AttackSummary,
  shown: number,
): Promise<GallerySection[]> {
  const classifier = job.model;
  const { x } = sample;
  const head = tf.slice(x, [0, 0, 0, 0], [shown, -1, -1, -1]);
  const cleanValues = (await head.data()) as Float32Array;
  head.dispose();
  const sections: GallerySection[] = [];
  for (const [e, result] of run.results.entries()) {
    const advHead = tf.slice(adversarialOf(result), [0, 0, 0, 0], [shown, -1, -1, -1]);
    const advValues = (await advHead.data()) as Float32Array;
    const after = await top1(job.attacked, advHead, job.batchSize);
    advHead.dispose();
    const s = summary.results[e];
    sections.push({
      title:
        `${budgetLabel(result, job.budgets)}: success ${percent(s.successRate)}, robust accuracy ` +
        `${percent(s.robustAccuracy)} (${sample.info.n} images, the first ${shown} shown)`,
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
