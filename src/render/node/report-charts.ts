import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { EvaluationReport } from '../../evaluate/report-types.js';
import { className, formatEps } from './report-format.js';

/**
 * The evaluation report's charts as Vega-Lite specs, rendered to SVG strings in Node without a browser or a
 * canvas (vega's headless 'none' renderer). The SVGs fetch nothing: no images, no web fonts.
 */

/** Generic font families only, so that the SVG looks the same offline. */
export const CHART_FONT = 'system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif';

const ROBUST_SERIES = 'worst case (robust accuracy)';
const ROBUST_COLOR = '#1f2937';
const CLEAN_COLOR = '#4c78a8';
const ATTACK_COLORS = ['#f58518', '#54a24b', '#b279a2', '#e45756', '#72b7b2', '#eeca3b', '#9d755d'];
/** Light to dark, so that a larger budget reads as a darker bar. */
const EPS_RAMP = ['#fdd0a2', '#fdae6b', '#fd8d3c', '#f16913', '#d94801', '#a63603', '#7f2704'];

const CONFIG = {
  font: CHART_FONT,
  background: 'white',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e5e7eb' },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', labelLimit: 260 },
} as const;

type CurveInput = Pick<EvaluationReport, 'clean_acc' | 'robust' | 'threat_model'>;
type PerClassInput = Pick<EvaluationReport, 'robust' | 'class_names'>;

export interface CurveRow {
  eps: number;
  accuracy: number;
  series: string;
}

export interface CurveOptions {
  /** Also draw the accuracy after each attack of the suite (cumulative), dashed (default true). */
  byAttack?: boolean;
  width?: number;
  height?: number;
}

/** Both charts' y axis: accuracy as a percentage of the full 0..1 range. */
function accuracyY() {
  return {
    field: 'accuracy',
    type: 'quantitative' as const,
    title: 'accuracy',
    scale: { domain: [0, 1] },
    axis: { format: '.0%', tickCount: 5 },
  };
}

/**
 * The points of the robustness curve: the worst case over the suite per eps, and (optionally) the accuracy
 * after each attack. Every series starts at the clean accuracy at eps 0 unless the report evaluated eps 0.
 */
export function curveRows(report: CurveInput, { byAttack = true }: CurveOptions = {}): CurveRow[] {
  const withZero = report.robust.length === 0 || report.robust[0].eps > 0;
  const attacks = byAttack ? attackNames(report) : [];
  const rows: CurveRow[] = [];
  for (const series of [ROBUST_SERIES, ...attacks.map((a) => `after ${a}`)]) {
    if (withZero) rows.push({ eps: 0, accuracy: report.clean_acc, series });
  }
  for (const r of report.robust) {
    rows.push({ eps: r.eps, accuracy: r.autoattack_acc, series: ROBUST_SERIES });
    for (const step of byAttack ? r.by_attack : []) {
      rows.push({ eps: r.eps, accuracy: step.accuracy_after, series: `after ${step.name}` });
    }
  }
  return rows;
}

function attackNames(report: CurveInput): string[] {
  const names: string[] = [];
  for (const r of report.robust) {
    for (const step of r.by_attack) if (!names.includes(step.name)) names.push(step.name);
  }
  return names;
}

/** Accuracy against eps: the worst case drawn bold with its values, each attack's line dashed under it. */
export function robustnessCurveSpec(report: CurveInput, options: CurveOptions = {}): TopLevelSpec {
  const rows = curveRows(report, options);
  const series = [...new Set(rows.map((r) => r.series))];
  const ticks = [...new Set(rows.map((r) => r.eps))].sort((a, b) => a - b);
  const isRobust = `datum.series === ${JSON.stringify(ROBUST_SERIES)}`;
  return {
    width: options.width ?? 520,
    height: options.height ?? 300,
    config: CONFIG,
    data: { values: rows },
    encoding: {
      x: {
        field: 'eps',
        type: 'quantitative',
        title: `eps (${report.threat_model})`,
        scale: { zero: true, nice: false },
        axis: { values: ticks, labelExpr: epsLabelExpr(ticks), labelOverlap: true, grid: false },
      },
      y: accuracyY(),
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        sort: series,
        scale: {
          domain: series,
          range: series.map((s, i) =>
            s === ROBUST_SERIES ? ROBUST_COLOR : ATTACK_COLORS[(i - 1) % ATTACK_COLORS.length],
          ),
        },
        legend: { orient: 'right' },
      },
    },
    layer: [
      {
        transform: [{ filter: `!(${isRobust})` }],
        mark: { type: 'line', point: true, strokeDash: [5, 3], strokeWidth: 1.5, opacity: 0.9 },
      },
      {
        transform: [{ filter: isRobust }],
        mark: { type: 'line', point: { size: 50 }, strokeWidth: 3 },
      },
      {
        transform: [{ filter: isRobust }],
        // Below and left of the points (above and right of the first): every other line lies above the worst
        // case and the lines fall to the right, so the values stay clear of them.
        mark: {
          type: 'text',
          align: { expr: `datum.eps === ${ticks[0]} ? 'left' : 'right'` },
          dx: { expr: `datum.eps === ${ticks[0]} ? 6 : -6` },
          dy: { expr: `datum.eps === ${ticks[0]} ? -8 : 13` },
          fontSize: 11,
          fontWeight: 'bold',
          color: ROBUST_COLOR,
        },
        encoding: { text: { field: 'accuracy', type: 'quantitative', format: '.1%' } },
      },
    ],
  };
}

/** Axis labels as formatEps writes them ('8/255'), looked up by value. */
function epsLabelExpr(ticks: readonly number[]): string {
  const cases = ticks.map((t) => `datum.value === ${t} ? ${JSON.stringify(formatEps(t))} : `);
  return `${cases.join('')}format(datum.value, '.3~g')`;
}

export interface PerClassRow {
  /** Display name, unique among the rows. */
  class: string;
  classIndex: number;
  series: string;
  accuracy: number;
}

export interface PerClassOptions {
  /** The budgets to show next to the clean accuracy (default: every eps of the report). */
  eps?: readonly number[];
  /**
   * With more classes than this, only the ones with the lowest robust accuracy at the largest shown eps are
   * drawn, so that the bars stay readable (default 20).
   */
  maxClasses?: number;
  height?: number;
}

/** The bars of the per-class chart, and which classes they cover. */
export function perClassRows(
  report: PerClassInput,
  options: PerClassOptions = {},
): { rows: PerClassRow[]; shown: number; total: number } {
  const results = report.robust.filter((r) => options.eps === undefined || options.eps.includes(r.eps));
  const base = results.length > 0 ? results : report.robust;
  const classes = [...new Set(base.flatMap((r) => r.per_class.map((c) => c.class)))].sort((a, b) => a - b);
  const maxClasses = options.maxClasses ?? 20;
  const last = base[base.length - 1];
  const robustAt = (c: number): number =>
    last?.per_class.find((p) => p.class === c)?.robust_acc ?? Number.POSITIVE_INFINITY;
  const shown =
    classes.length <= maxClasses
      ? classes
      : [...classes]
          .sort((a, b) => robustAt(a) - robustAt(b) || a - b)
          .slice(0, maxClasses)
          .sort((a, b) => a - b);
  const names = uniqueNames(report.class_names, shown);
  const rows: PerClassRow[] = [];
  for (const c of shown) {
    const clean = base.map((r) => r.per_class.find((p) => p.class === c)).find((p) => p !== undefined);
    if (clean !== undefined) {
      rows.push({
        class: names.get(c) ?? String(c),
        classIndex: c,
        series: 'clean',
        accuracy: clean.clean_acc,
      });
    }
    for (const r of base) {
      const p = r.per_class.find((q) => q.class === c);
      if (p === undefined) continue;
      rows.push({
        class: names.get(c) ?? String(c),
        classIndex: c,
        series: epsSeries(r.eps),
        accuracy: p.robust_acc,
      });
    }
  }
  return { rows, shown: shown.length, total: classes.length };
}

const epsSeries = (eps: number): string => `robust, eps ${formatEps(eps)}`;

function uniqueNames(classNames: readonly string[], classes: readonly number[]): Map<number, string> {
  const counts = new Map<string, number>();
  for (const c of classes) {
    const name = className(classNames, c);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return new Map(
    classes.map((c) => {
      const name = className(classNames, c);
      return [c, (counts.get(name) ?? 0) > 1 ? `${name} (${c})` : name];
    }),
  );
}

/** Clean and robust accuracy per class: one group of bars per class, one bar per budget. */
export function perClassSpec(report: PerClassInput, options: PerClassOptions = {}): TopLevelSpec {
  const { rows } = perClassRows(report, options);
  const series = [...new Set(rows.map((r) => r.series))];
  const epsCount = series.length - 1;
  const ramp = (i: number): string =>
    EPS_RAMP[epsCount <= 1 ? 4 : Math.round(1 + (i * (EPS_RAMP.length - 2)) / (epsCount - 1))];
  const classes = new Set(rows.map((r) => r.class)).size;
  return {
    width: Math.min(880, Math.max(320, classes * (12 * series.length + 12))),
    height: options.height ?? 220,
    config: CONFIG,
    data: { values: rows },
    mark: { type: 'bar' },
    encoding: {
      x: {
        field: 'class',
        type: 'nominal',
        title: 'class',
        sort: { field: 'classIndex', op: 'min' },
        axis: { labelAngle: classes > 10 ? -45 : 0, labelLimit: 120 },
      },
      xOffset: { field: 'series', type: 'nominal', sort: series, scale: { paddingInner: 0.05 } },
      y: accuracyY(),
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        sort: series,
        scale: { domain: series, range: series.map((s, i) => (i === 0 ? CLEAN_COLOR : ramp(i - 1))) },
        legend: { orient: 'top', direction: 'horizontal' },
      },
    },
  };
}

/** A quiet logger: library code prints nothing (the specs are checked for warnings by the tests). */
class QuietLogger implements NonNullable<vega.ViewOptions['logger']> {
  #level = 0;
  level(level?: number): number | this {
    if (level === undefined) return this.#level;
    this.#level = level;
    return this;
  }
  error(): this {
    return this;
  }
  warn(): this {
    return this;
  }
  info(): this {
    return this;
  }
  debug(): this {
    return this;
  }
}

/**
 * The spec drawn as a standalone SVG document. vega numbers clip paths and gradients with a process-wide
 * counter; they are renumbered under `idPrefix` so that the same spec gives the same bytes and several SVGs
 * can share one HTML page.
 */
export async function renderChartSvg(spec: TopLevelSpec, idPrefix = 'chart'): Promise<string> {
  const logger = new QuietLogger();
  const view = new vega.View(vega.parse(vl.compile(spec, { logger }).spec), { renderer: 'none', logger });
  try {
    return renumberIds(await view.toSVG(), idPrefix);
  } finally {
    view.finalize();
  }
}

export function renumberIds(svg: string, prefix: string): string {
  const ids = new Map<string, string>();
  for (const [, id] of svg.matchAll(/\sid="([^"]+)"/g)) {
    if (!ids.has(id)) ids.set(id, `${prefix}-${ids.size + 1}`);
  }
  if (ids.size === 0) return svg;
  return svg.replace(/(\sid="|url\(#|href="#)([^")]+)/g, (whole, lead: string, id: string) => {
    const renamed = ids.get(id);
    return renamed === undefined ? whole : `${lead}${renamed}`;
  });
}

export async function robustnessCurveSvg(report: CurveInput, options: CurveOptions = {}): Promise<string> {
  return renderChartSvg(robustnessCurveSpec(report, options), 'curve');
}

export async function perClassSvg(report: PerClassInput, options: PerClassOptions = {}): Promise<string> {
  return renderChartSvg(perClassSpec(report, options), 'per-class');
}
