import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../models/model.js';
import { ADVKIT_VERSION } from '../version.js';
import type { RobustnessEvaluation } from './evaluate-robustness.js';
import type { Suite } from './suites.js';
import { threatModel, type ClassAccuracy, type EvaluationReport, type SanityFlag } from './report-types.js';
import { engineName } from '../backend/backend.js';

export interface ReportContext {
  model: EvaluationReport['model'];
  dataset: { name: string; split: string; sample?: string; notes?: string[] };
  /** The sanity checks' flags; null when they were skipped. */
  flags: readonly SanityFlag[] | null;
  command: string;
  started: Date;
  seconds: number;
}

/** The suite as a report records it: each attack with its parameters and EOT passes. */
export function suiteRecord(suite: Suite): EvaluationReport['suite'] {
  return {
    name: suite.name,
    attacks: suite.entries.map((e) => ({
      name: e.name,
      attack: e.attack,
      params: { ...e.params },
      eot: e.eot,
    })),
  };
}

/** The JSON report of an evaluation: what ran, on what, with which outcome. */
export function buildReport(
  classifier: Model,
  evaluation: RobustnessEvaluation,
  context: ReportContext,
): EvaluationReport {
  const correct = Uint8Array.from(evaluation.labels, (y, i) =>
    evaluation.cleanPredictions[i] === y ? 1 : 0,
  );
  return {
    format: 'advkit-evaluation/1',
    advkit: { version: ADVKIT_VERSION, tfjs: tf.version_core, backend: engineName() },
    model: context.model,
    dataset: { ...context.dataset, n: evaluation.n, sha256: evaluation.datasetSha256 },
    threat_model: threatModel(evaluation.norm),
    norm: evaluation.norm,
    eps: evaluation.perEps.map((r) => r.eps),
    suite: suiteRecord(evaluation.suite),
    seed: evaluation.seed,
    clean_acc: evaluation.cleanAccuracy,
    robust: evaluation.perEps.map((r) => ({
      eps: r.eps,
      autoattack_acc: r.robustAccuracy,
      by_attack: r.steps,
      per_class: perClass(classifier.numClasses, evaluation.labels, correct, r.robust),
      broken_by: Array.from(r.brokenBy, (k, i) => (correct[i] === 1 ? k : -2)),
    })),
    class_names: [...classifier.classNames],
    sanity_checked: context.flags !== null,
    flags: [...(context.flags ?? [])],
    command: context.command,
    started: context.started.toISOString(),
    seconds: context.seconds,
  };
}

/** Clean and robust accuracy of each class present in the labels. */
export function perClass(
  numClasses: number,
  labels: Int32Array,
  correct: Uint8Array,
  robust: Uint8Array,
): ClassAccuracy[] {
  const n = new Int32Array(numClasses);
  const clean = new Int32Array(numClasses);
  const kept = new Int32Array(numClasses);
  labels.forEach((y, i) => {
    n[y]++;
    clean[y] += correct[i];
    kept[y] += robust[i];
  });
  const out: ClassAccuracy[] = [];
  for (let c = 0; c < numClasses; c++) {
    if (n[c] > 0) out.push({ class: c, n: n[c], clean_acc: clean[c] / n[c], robust_acc: kept[c] / n[c] });
  }
  return out;
}
