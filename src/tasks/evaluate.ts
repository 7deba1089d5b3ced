import type * as tf from '@tensorflow/tfjs-core';
import path from 'node:path';
import { buildReport } from '../evaluate/build-report.js';
import { evaluateRobustness, type EvaluationProgress } from '../evaluate/evaluate-robustness.js';
import { modelSha256 } from '../evaluate/fingerprint.js';
import { FileStateStore } from '../evaluate/node/file-state-store.js';
import type { EvaluationReport } from '../evaluate/report-types.js';
import { runSanityChecks, type SanityProgress } from '../evaluate/sanity/run-sanity-checks.js';
import { resolveSuite } from '../evaluate/suites.js';
import { renderReportHtml } from '../render/node/report-html.js';
import { defaultBudgets, parseBudgets, type Budget } from './budgets.js';
import { EVALUATE_DEFAULT_MODEL, evaluateSchema } from './evaluate-spec.js';
import { galleryItems } from './evaluate-gallery.js';
import { loadModelSample } from './model-data.js';
import { openModel } from './model-source.js';
import { reproduceCommand } from './reproduce.js';
import { parseSpec } from './spec.js';
import type { Task, TaskContext, TaskResult } from './task.js';
import { jsonArtifact } from './task.js';
import { engineName } from '../backend/backend.js';

export type EvaluateSpec = Parameters<typeof evaluateTask.run>[0];

export interface EvaluateResult extends TaskResult {
  task: 'evaluate';
  /** The report as evaluation.json holds it. */
  report: EvaluationReport;
  /** The budgets, ascending as in `report.eps`, each as the user wrote it ('8/255'). */
  epsText: string[];
}

export type EvaluateProgress =
  ({ stage: 'attack'; epsText: string } & EvaluationProgress) | ({ stage: 'sanity' } & SanityProgress);

/** Where the evaluate task keeps its resume state inside `ctx.stateDir`. */
export function evaluationStatePath(stateDir: string): string {
  return path.join(stateDir, 'evaluation.state.json');
}

/**
 * How robust is a model, really? The AutoAttack protocol (Croce & Hein 2020: each attack on the points still
 * robust, robust accuracy as the per-example worst case) at each eps, the sanity checks for gradient masking
 * (Carlini et al. 2019, "On Evaluating Adversarial Robustness"), the JSON report and a self-contained HTML
 * report. With `ctx.stateDir` the work is saved per chunk and a rerun of the same spec resumes exactly.
 */
export const evaluateTask: Task<typeof evaluateSchema, EvaluateResult, EvaluateProgress> = {
  name: 'evaluate',
  title: 'Robust accuracy under the AutoAttack protocol, with sanity checks and a report',
  schema: evaluateSchema,
  async run(input, ctx: TaskContext<EvaluateProgress> = {}) {
    const spec = parseSpec(evaluateSchema, input, 'evaluate');
    const suite = resolveSuite(spec.suite, spec.norm, spec.eot);
    const source = await openModel(spec.model, { defaultName: EVALUATE_DEFAULT_MODEL, labels: spec.labels });
    const model = source.model;
    let x: tf.Tensor4D | undefined;
    try {
      const dataName = spec.data ?? model.metadata.dataset ?? 'mnist';
      const budgets: Budget[] =
        spec.eps === undefined
          ? defaultBudgets(dataName, spec.norm, model.bounds)
          : parseBudgets(spec.eps, { allowZero: false, bounds: model.bounds, norm: spec.norm });
      // The first n points of the split (the seed is the attacks', not a random draw of the points).
      const sample = await loadModelSample(model, {
        data: dataName,
        split: spec.split,
        dataDir: spec.dataDir,
        labelMap: spec.labelMap,
        n: spec.n,
      });
      x = sample.x;
      for (const note of sample.info.notes) ctx.onNote?.(note);
      const started = new Date();
      const modelHash = await modelSha256(model);
      const statePath = ctx.stateDir === undefined ? undefined : evaluationStatePath(ctx.stateDir);
      const evaluation = await evaluateRobustness(model, {
        x,
        labels: sample.labels,
        norm: spec.norm,
        eps: budgets.map((b) => b.value),
        suite: suite.name,
        eot: spec.eot,
        seed: spec.seed,
        batchSize: spec.batchSize,
        galleryCount: spec.gallery,
        state: statePath === undefined ? undefined : new FileStateStore(statePath),
        modelKey: modelHash,
        signal: ctx.signal,
        onProgress: (p) => ctx.onProgress?.({ stage: 'attack', epsText: budgets[p.epsIndex].text, ...p }),
      });
      if (evaluation.resumedChunks > 0 && statePath !== undefined) {
        ctx.onNote?.(`resumed: ${evaluation.resumedChunks} chunk(s) of work came from ${statePath}`);
      }
      const flags = spec.sanity
        ? await runSanityChecks({
            classifier: model,
            x,
            labels: sample.labels,
            evaluation,
            eot: evaluation.suite.entries.some((e) => e.eot > 1),
            seed: spec.seed,
            batchSize: spec.batchSize,
            signal: ctx.signal,
            onProgress: (p) => ctx.onProgress?.({ stage: 'sanity', ...p }),
          })
        : null;
      const report = buildReport(model, evaluation, {
        model: {
          name: source.name,
          path: source.dir,
          sha256: modelHash,
          architecture: model.metadata.architecture,
        },
        dataset: {
          name: dataName,
          split: spec.split,
          ...(sample.info.sample !== undefined ? { sample: sample.info.sample.description } : {}),
          notes: sample.info.notes,
        },
        flags,
        command: reproduceCommand('evaluate', [
          ['model', spec.model],
          ['data', dataName],
          ['split', spec.split],
          ['n', spec.n],
          ['norm', spec.norm],
          ['eps', budgets.map((b) => b.text).join(',')],
          ['suite', suite.name],
          ['eot', spec.eot],
          ['seed', spec.seed],
          ['batchSize', spec.batchSize],
          ['backend', engineName()],
        ]),
        started,
        seconds: (Date.now() - started.getTime()) / 1000,
      });
      const html = await renderReportHtml(report, await galleryItems(model, x, evaluation));
      return {
        result: { task: 'evaluate', schemaVersion: 1, report, epsText: budgets.map((b) => b.text) },
        artifacts: [
          jsonArtifact('evaluation.json', report),
          { name: 'report.html', mediaType: 'text/html', bytes: new TextEncoder().encode(html) },
        ],
      };
    } finally {
      x?.dispose();
      model.dispose();
    }
  },
};
