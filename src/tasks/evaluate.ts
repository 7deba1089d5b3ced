import type * as tf from '@tensorflow/tfjs-core';
import type { Norm } from '../attacks/types.js';
import { DefendedModel } from '../defend/transforms/defended-model.js';
import { parseDefense } from '../defend/transforms/parse-defense.js';
import { AdvkitError, invalidArgument } from '../errors.js';
import type { Model } from '../models/model.js';
import path from 'node:path';
import { buildReport, suiteRecord } from '../evaluate/build-report.js';
import {
  evaluateRobustness,
  type EvaluationProgress,
  type RobustnessEvaluation,
} from '../evaluate/evaluate-robustness.js';
import { modelSha256 } from '../evaluate/fingerprint.js';
import { FileStateStore } from '../evaluate/node/file-state-store.js';
import type {
  DefenseRecord,
  EvaluationReport,
  NaiveDefenseRun,
  SanityFlag,
} from '../evaluate/report-types.js';
import { runSanityChecks, type SanityProgress } from '../evaluate/sanity/run-sanity-checks.js';
import { resolveSuite, type Suite } from '../evaluate/suites.js';
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
  | ({ stage: 'attack'; epsText: string; run?: DefenseRun } & EvaluationProgress)
  | ({ stage: 'sanity' } & SanityProgress);

/** The two evaluations of a defended model: through BPDA and EOT, or with plain gradients. */
export type DefenseRun = 'adaptive' | 'naive';

/** Passes per gradient (EOT) behind a random defense when the spec gives none: AutoAttack's rand version. */
export const RANDOM_DEFENSE_EOT = 20;

/** Where the evaluate task keeps its resume state inside `ctx.stateDir` (the naive run of a defense: its own). */
export function evaluationStatePath(stateDir: string, run?: DefenseRun): string {
  return path.join(stateDir, run === 'naive' ? 'evaluation.naive.state.json' : 'evaluation.state.json');
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
    if (
      spec.gradients !== undefined &&
      (spec.defense === undefined || parseDefense(spec.defense).length === 0)
    ) {
      throw invalidArgument(
        "evaluate: 'gradients' says how to attack through a defense; give 'defense' too (e.g. jpeg:75).",
        { option: 'gradients' },
      );
    }
    const source = await openModel(spec.model, {
      defaultName: EVALUATE_DEFAULT_MODEL,
      labels: spec.labels,
      defense: spec.defense,
      defenseSeed: spec.seed,
    });
    const model = source.model;
    const chain = source.defense;
    let x: tf.Tensor4D | undefined;
    try {
      // Behind a random defense, AutoAttack's rand version: APGD-CE and APGD-DLR with EOT over 20 draws.
      const suite = resolveSuite(
        spec.suite ?? (chain?.random === true ? 'rand' : 'standard'),
        spec.norm,
        spec.eot ?? (chain?.random === true ? RANDOM_DEFENSE_EOT : undefined),
      );
      const gradients = chain === undefined ? undefined : (spec.gradients ?? 'adaptive');
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
      const xs = sample.x;
      x = xs;
      for (const note of sample.info.notes) ctx.onNote?.(note);
      const started = new Date();
      const modelHash = await modelSha256(model);

      /** One evaluation (attacks, then the sanity checks) of `target` with `runSuite`, resumable in its own state. */
      const evaluateOne = async (target: Model, runSuite: Suite, run: DefenseRun | undefined) => {
        const statePath = ctx.stateDir === undefined ? undefined : evaluationStatePath(ctx.stateDir, run);
        const evaluation = await evaluateRobustness(target, {
          x: xs,
          labels: sample.labels,
          norm: spec.norm,
          eps: budgets.map((b) => b.value),
          suite: runSuite.name,
          eot: runSuite.entries.reduce((most, e) => Math.max(most, e.eot), 1),
          seed: spec.seed,
          batchSize: spec.batchSize,
          galleryCount: spec.gallery,
          state: statePath === undefined ? undefined : new FileStateStore(statePath),
          modelKey:
            chain === undefined ? modelHash : `${modelHash} behind ${chain.spec} (${run ?? 'adaptive'})`,
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
        const flags = spec.sanity
          ? await runSanityChecks({
              classifier: target,
              x: xs,
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

      const adaptive =
        gradients === 'naive' ? undefined : await evaluateOne(chain ?? model, suite, chain && 'adaptive');
      let naive: Awaited<ReturnType<typeof evaluateOne>> | undefined;
      let naiveSuite: Suite | undefined;
      if (chain !== undefined && gradients !== 'adaptive') {
        naiveSuite = naiveSuiteOf(suite, spec.norm);
        const masked = new DefendedModel(model, chain.transforms, {
          seed: spec.seed,
          gradients: 'naive',
          disposeModel: false,
        });
        naive = await evaluateOne(masked, naiveSuite, 'naive');
      }
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
          ['backend', engineName()],
        ]),
        started,
        seconds: (Date.now() - started.getTime()) / 1000,
      });
      if (chain !== undefined) {
        report.defense = defenseRecord(chain, adaptive === undefined ? 'naive' : 'adaptive', suite);
        if (adaptive !== undefined && naive !== undefined && naiveSuite !== undefined) {
          report.defense.naive = naiveRecord(naive.evaluation, naive.flags);
        }
      }
      const html = await renderReportHtml(report, await galleryItems(model, xs, evaluation));
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

/** The naive run's suite: the gradient attacks of `suite` (a black-box attack does not see the gradients), no EOT. */
function naiveSuiteOf(suite: Suite, norm: Norm): Suite {
  const names = suite.entries.filter((e) => !e.blackBox).map((e) => e.name);
  return resolveSuite(names.length > 0 ? names : ['apgd-ce'], norm, 1);
}

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
