import type { AttackResult, AttackRun } from '../attacks/run-attack.js';
import type { Norm } from '../attacks/types.js';
import { epsText, NORM_LABEL, percent } from './attack-shared.js';
import type { Budget } from './budgets.js';

export interface DistanceStats {
  mean: number | null;
  median: number | null;
}

/** The outcome at one budget, as the dataset summary reports it. */
export interface BudgetSummary {
  eps: number | null;
  /** As the user wrote it ('8/255'). */
  epsText: string;
  successRate: number;
  /** Accuracy on the adversarial inputs. */
  robustAccuracy: number;
  /** Examples the model classified correctly and the attack then fooled: the distances are over these. */
  fooled: number;
  distances: { l0: DistanceStats; l1: DistanceStats; l2: DistanceStats; linf: DistanceStats };
  gradientsPerExample: number;
  queriesPerExample: number;
  seconds: number;
}

function stats(values: number[]): DistanceStats {
  if (values.length === 0) return { mean: null, median: null };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { mean: values.reduce((s, v) => s + v, 0) / values.length, median };
}

/**
 * One result summarized. Distances count only the examples the model got right and the attack fooled, so
 * that points misclassified to begin with (distance 0) do not make the attack look cheaper.
 */
export function summarizeResult(
  run: AttackRun,
  result: AttackResult,
  budgets: readonly Budget[] | undefined,
): BudgetSummary {
  const n = run.labels.length;
  const rows: number[] = [];
  for (let i = 0; i < n; i++) {
    if (result.success[i] === 1 && run.cleanPredictions[i] === run.labels[i]) rows.push(i);
  }
  const of = (d: Float32Array): DistanceStats => stats(rows.map((i) => d[i]));
  const d = result.distances;
  return {
    eps: result.eps,
    epsText: epsText(result, budgets),
    successRate: result.successRate,
    robustAccuracy: result.accuracy,
    fooled: rows.length,
    distances: { l0: of(d.l0), l1: of(d.l1), l2: of(d.l2), linf: of(d.linf) },
    gradientsPerExample: result.cost.gradients / n,
    queriesPerExample: result.cost.queries / n,
    seconds: result.seconds,
  };
}

/** A short table, one line per budget. */
export function summaryTable(results: readonly BudgetSummary[], norm: Norm): string {
  const other: Norm = norm === 'linf' ? 'l2' : 'linf';
  const header = [
    'eps',
    'success',
    'robust acc',
    `median ${NORM_LABEL[norm]}`,
    `median ${NORM_LABEL[other]}`,
    'fooled',
    'grads/ex',
    'queries/ex',
    'seconds',
  ];
  const num = (v: number | null): string => (v === null ? '-' : v.toPrecision(3));
  const rows = results.map((r) => [
    r.epsText,
    percent(r.successRate),
    percent(r.robustAccuracy),
    num(r.distances[norm].median),
    num(r.distances[other].median),
    String(r.fooled),
    r.gradientsPerExample.toFixed(1),
    r.queriesPerExample.toFixed(1),
    r.seconds.toFixed(1),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => cell.padEnd(widths[c]))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
