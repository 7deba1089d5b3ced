import type { Static } from 'typebox';
import type { Norm } from '../attacks/types.js';
import { DefendedModel } from '../defend/transforms/defended-model.js';
import { parseDefense } from '../defend/transforms/parse-defense.js';
import { invalidArgument } from '../errors.js';
import type { EvaluateOptions } from '../evaluate/evaluate-robustness.js';
import { modelSha256 } from '../evaluate/fingerprint.js';
import { resolveSuite, type Suite } from '../evaluate/suites.js';
import type { Model } from '../models/model.js';
import { defaultBudgets, parseBudgets, type Budget } from './budgets.js';
import { EVALUATE_DEFAULT_MODEL, evaluateSchema } from './evaluate-spec.js';
import { loadModelSample, type ModelSample } from './model-data.js';
import { openModel, type ModelSource } from './model-source.js';
import { parseSpec } from './spec.js';
import type { TaskInput } from './task.js';

/** The two evaluations of a defended model: through BPDA and EOT, or with plain gradients. */
export type DefenseRun = 'adaptive' | 'naive';

/** Passes per gradient (EOT) behind a random defense when the spec gives none: AutoAttack's rand version. */
export const RANDOM_DEFENSE_EOT = 20;

/** One evaluation of an evaluate spec: the model it attacks and the suite (a defended model may have two). */
export interface EvaluationRun {
  /** 'adaptive' or 'naive' behind a defense; undefined for an undefended model. */
  run: DefenseRun | undefined;
  target: Model;
  suite: Suite;
  /** The engine's options for this run (no state, progress or signal: the caller adds those). */
  options: EvaluateOptions;
}

/**
 * An evaluate spec opened: the model (behind its defense), the data, the budgets and the runs to make. The evaluate
 * task and a queue worker running one chunk of it (`tasks/evaluate-chunk.ts`) open a spec the same way, so that a
 * chunk computed anywhere is the chunk the single-process evaluation computes.
 */
export interface EvaluationSetup {
  spec: Static<typeof evaluateSchema>;
  source: ModelSource;
  /** The defense in front of the model, if any. */
  chain: DefendedModel | undefined;
  /** The adaptive (or only) run's suite. */
  suite: Suite;
  gradients: 'adaptive' | 'naive' | 'both' | undefined;
  dataName: string;
  budgets: Budget[];
  sample: ModelSample;
  modelHash: string;
  /** The runs in order: the adaptive (or only) one, then the naive one when asked for. */
  runs: EvaluationRun[];
  dispose(): void;
}

/** Checks an evaluate spec and loads what it names; the caller disposes the setup. */
export async function openEvaluation(
  input: TaskInput<typeof evaluateSchema>,
  onNote?: (note: string) => void,
): Promise<EvaluationSetup> {
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
    for (const note of sample.info.notes) onNote?.(note);
    const modelHash = await modelSha256(model);
    const runOf = (target: Model, runSuite: Suite, run: DefenseRun | undefined): EvaluationRun => ({
      run,
      target,
      suite: runSuite,
      options: {
        x: sample.x,
        labels: sample.labels,
        norm: spec.norm,
        eps: budgets.map((b) => b.value),
        suite: runSuite.name,
        eot: runSuite.entries.reduce((most, e) => Math.max(most, e.eot), 1),
        seed: spec.seed,
        batchSize: spec.batchSize,
        chunkSize: spec.chunk,
        galleryCount: spec.gallery,
        modelKey:
          chain === undefined ? modelHash : `${modelHash} behind ${chain.spec} (${run ?? 'adaptive'})`,
      },
    });
    const runs: EvaluationRun[] = [];
    if (gradients !== 'naive') runs.push(runOf(chain ?? model, suite, chain && 'adaptive'));
    if (chain !== undefined && gradients !== 'adaptive') {
      const masked = new DefendedModel(model, chain.transforms, {
        seed: spec.seed,
        gradients: 'naive',
        disposeModel: false,
      });
      runs.push(runOf(masked, naiveSuiteOf(suite, spec.norm), 'naive'));
    }
    return {
      spec,
      source,
      chain,
      suite,
      gradients,
      dataName,
      budgets,
      sample,
      modelHash,
      runs,
      dispose: () => {
        sample.x.dispose();
        model.dispose();
      },
    };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** The naive run's suite: the gradient attacks of `suite` (a black-box attack does not see the gradients), no EOT. */
function naiveSuiteOf(suite: Suite, norm: Norm): Suite {
  const names = suite.entries.filter((e) => !e.blackBox).map((e) => e.name);
  return resolveSuite(names.length > 0 ? names : ['apgd-ce'], norm, 1);
}
