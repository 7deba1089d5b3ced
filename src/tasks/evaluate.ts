import path from 'node:path';
import type { DefendedModel } from '../defend/transforms/defended-model.js';
import { AdvkitError } from '../errors.js';
import { buildReport, suiteRecord } from '../evaluate/build-report.js';
import type { ChunkRecord } from '../evaluate/evaluation-state.js';
import {
  evaluateRobustness,
  type ChunkRequest,
  type EvaluationProgress,
  type RobustnessEvaluation,
} from '../evaluate/evaluate-robustness.js';
import { FileStateStore } from '../evaluate/node/file-state-store.js';
import type {
  DefenseRecord,
  EvaluationReport,
  NaiveDefenseRun,
  SanityFlag,
} from '../evaluate/report-types.js';
import { runSanityChecks, type SanityProgress } from '../evaluate/sanity/run-sanity-checks.js';
import type { Suite } from '../evaluate/suites.js';
import { renderReportHtml } from '../render/node/report-html.js';
import { mixSeed } from '../util/seeded-math-random.js';
import { engineName } from '../backend/backend.js';
import { evaluateSchema } from './evaluate-spec.js';
import { galleryItems } from './evaluate-gallery.js';
import { openEvaluation, type DefenseRun, type EvaluationRun } from './evaluate-setup.js';
import { reproduceCommand } from './reproduce.js';
import type { Task, TaskContext, TaskResult } from './task.js';
import { jsonArtifact } from './task.js';

export { RANDOM_DEFENSE_EOT, type DefenseRun } from './evaluate-setup.js';

export type EvaluateSpec = Parameters<typeof evaluateTask.run>[0];

export interface EvaluateResult extends TaskResult {
  task: 'evaluate';
  /** The report as evaluation.json holds it. */
  report: EvaluationReport;
  /** The budgets, ascending as in `report.eps`, each as the user wrote it ('8/255'). */
  epsText: string[];
}

export type EvaluateProgress =
  | ({ stage: 'attack'; epsText: string; run?: DefenseRun } & EvaluationProgress)
  | ({ stage: 'sanity' } & SanityProgress);

/** A chunk of one run of an evaluation, for a queue worker (`runEvaluationChunk` in tasks/evaluate-chunk.ts). */
export interface EvaluationChunkRequest extends ChunkRequest {
  run?: DefenseRun;
}

/** The evaluate task's context: a surface that distributes the work passes `executeChunks`. */
export interface EvaluateContext extends TaskContext<EvaluateProgress> {
  /**
   * Runs each stage's chunks elsewhere (queue workers running `runEvaluationChunk` on the same spec); without it
   * they run here. Either way the result is the same: a chunk depends only on the spec and its own seed.
   */
  executeChunks?: (requests: EvaluationChunkRequest[]) => Promise<ChunkRecord[]>;
}

/** Where the evaluate task keeps its resume state inside `ctx.stateDir` (the naive run of a defense: its own). */
export function evaluationStatePath(stateDir: string, run?: DefenseRun): string {
  return path.join(stateDir, run === 'naive' ? 'evaluation.naive.state.json' : 'evaluation.state.json');
}

/** Mixed into the spec's seed for a random model's draws during the sanity checks (see `Model.reseed`). */
const SANITY_RESEED = 0x5a41;

/**
 * How robust is a model, really? The AutoAttack protocol (Croce & Hein 2020: each attack on the points still
 * robust, robust accuracy as the per-example worst case) at each eps, the sanity checks for gradient masking
 * (Carlini et al. 2019, "On Evaluating Adversarial Robustness"), the JSON report and a self-contained HTML
 * report. With `ctx.stateDir` the work is saved per chunk and a rerun of the same spec resumes exactly; with
 * `ctx.executeChunks` the chunks run on other processes or machines, with the same result.
 */
export const evaluateTask: Task<typeof evaluateSchema, EvaluateResult, EvaluateProgress, EvaluateContext> = {
  name: 'evaluate',
  title: 'Robust accuracy under the AutoAttack protocol, with sanity checks and a report',
  schema: evaluateSchema,
  async run(input, ctx: EvaluateContext = {}) {
    const setup = await openEvaluation(input, ctx.onNote);
    const { spec, source, chain, suite, gradients, dataName, budgets, sample, modelHash } = setup;
    const model = source.model;
    try {
      const started = new Date();
      /** One evaluation (attacks, then the sanity checks), resumable in its own state. */
      const evaluateOne = async ({ run, target, options }: EvaluationRun) => {
        const statePath = ctx.stateDir === undefined ? undefined : evaluationStatePath(ctx.stateDir, run);
        const execute = ctx.executeChunks;
        const evaluation = await evaluateRobustness(target, {
          ...options,
          state: statePath === undefined ? undefined : new FileStateStore(statePath),
          ...(execute !== undefined
            ? {
                executeChunks: (requests) =>
                  execute(requests.map((r) => ({ ...r, ...(run ? { run } : {}) }))),
              }
            : {}),
          signal: ctx.signal,
          onProgress: (p) =>
            ctx.onProgress?.({
              stage: 'attack',
              epsText: budgets[p.epsIndex].text,
              ...(run !== undefined ? { run } : {}),
              ...p,
            }),
        });
        if (evaluation.resumedChunks > 0 && statePath !== undefined) {
          ctx.onNote?.(`resumed: ${evaluation.resumedChunks} chunk(s) of work came from ${statePath}`);
        }
        // The checks' own draws of a random model start from the spec's seed, wherever the chunks ran.
        target.reseed?.(mixSeed(spec.seed, SANITY_RESEED));
        const flags = spec.sanity
          ? await runSanityChecks({
              classifier: target,
              x: sample.x,
              labels: sample.labels,
              evaluation,
              eot: evaluation.suite.entries.some((e) => e.eot > 1),
              eotPasses: Math.max(1, ...evaluation.suite.entries.map((e) => e.eot)),
              seed: spec.seed,
              batchSize: spec.batchSize,
              signal: ctx.signal,
              onProgress: (p) => ctx.onProgress?.({ stage: 'sanity', ...p }),
            })
          : null;
        return {
          evaluation,
          flags: run === 'naive' && chain !== undefined ? naiveAdvice(flags, chain) : flags,
        };
      };

      const results = [];
      for (const r of setup.runs) results.push({ run: r.run, ...(await evaluateOne(r)) });
      const adaptive = results.find((r) => r.run !== 'naive');
      const naive = chain !== undefined ? results.find((r) => r.run === 'naive') : undefined;
      const primary = adaptive ?? naive;
      if (primary === undefined) throw new AdvkitError('INTERNAL', 'evaluate: no evaluation ran.');
      const { evaluation, flags } = primary;
      const report = buildReport(chain ?? model, evaluation, {
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
          ['defense', chain?.spec],
          ['gradients', gradients === 'adaptive' ? undefined : gradients],
          ['data', dataName],
          ['split', spec.split],
          ['n', spec.n],
          ['norm', spec.norm],
          ['eps', budgets.map((b) => b.text).join(',')],
          ['suite', suite.name],
          ['eot', spec.eot],
          ['seed', spec.seed],
          ['batchSize', spec.batchSize],
          ['chunk', spec.chunk],
          ['backend', engineName()],
        ]),
        started,
        seconds: (Date.now() - started.getTime()) / 1000,
      });
      if (chain !== undefined) {
        report.defense = defenseRecord(chain, adaptive === undefined ? 'naive' : 'adaptive', suite);
        if (adaptive !== undefined && naive !== undefined) {
          report.defense.naive = naiveRecord(naive.evaluation, naive.flags);
        }
      }
      const html = await renderReportHtml(report, await galleryItems(model, sample.x, evaluation));
      return {
        result: { task: 'evaluate', schemaVersion: 1, report, epsText: budgets.map((b) => b.text) },
        artifacts: [
          jsonArtifact('evaluation.json', report),
          { name: 'report.html', mediaType: 'text/html', bytes: new TextEncoder().encode(html) },
        ],
      };
    } finally {
      setup.dispose();
    }
  },
};

/** The naive run's flags, each told that this is the evaluation not to trust and which one to run instead. */
function naiveAdvice(flags: SanityFlag[] | null, chain: DefendedModel): SanityFlag[] | null {
  return (
    flags?.map((f) =>
      f.id === 'masked-gradients' || f.id === 'randomized-model'
        ? {
            ...f,
            advice:
              `${f.advice} This is the naive evaluation of the defense ${chain.spec}: use the adaptive one ` +
              `(advkit evaluate --defense ${chain.spec}, BPDA${chain.random ? ' and EOT' : ''}; the default).`,
          }
        : f,
    ) ?? null
  );
}

/** What the report says about the defense and how its numbers were attacked. */
function defenseRecord(chain: DefendedModel, gradients: DefenseRun, suite: Suite): DefenseRecord {
  const approximated = chain.transforms.filter((t) => !t.differentiable).map((t) => t.spec);
  const eot = Math.max(1, ...suite.entries.map((e) => e.eot));
  const note =
    gradients === 'adaptive'
      ? `Adaptive evaluation (Athalye, Carlini & Wagner 2018): ` +
        (approximated.length > 0
          ? `BPDA through ${approximated.join(', ')} (the transform forward, its approximation backward)`
          : 'exact gradients through every transform') +
        (chain.random ? `, EOT over ${eot} draws of the random transforms per gradient.` : '.')
      : `Naive evaluation: plain gradients through the defense (zero through ${approximated.join(', ') || 'no transform'}), ` +
        'no EOT. It overstates robustness (Athalye et al. 2018); run the adaptive evaluation (the default) to judge the defense.';
  return {
    spec: chain.spec,
    differentiable: chain.differentiable,
    random: chain.random,
    gradients,
    note,
  };
}

function naiveRecord(evaluation: RobustnessEvaluation, flags: SanityFlag[] | null): NaiveDefenseRun {
  return {
    suite: suiteRecord(evaluation.suite),
    clean_acc: evaluation.cleanAccuracy,
    robust: evaluation.perEps.map((r) => ({
      eps: r.eps,
      autoattack_acc: r.robustAccuracy,
      by_attack: r.steps,
    })),
    sanity_checked: flags !== null,
    flags: flags ?? [],
  };
}
