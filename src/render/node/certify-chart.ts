import type { TopLevelSpec } from 'vega-lite';
import { CHART_FONT, renderChartSvg } from './report-charts.js';

/**
 * The certified-accuracy curve of randomized smoothing (Cohen et al. 2019, Figure 6 style): the share of images
 * certified correct at L2 radius at least r, against r, as a step function through every certified radius,
 * the asked-for radii marked with their values, and a dashed rule where the sample count caps every radius.
 */

export interface CertifiedCurveInput {
  /** Every certified image: whether its certified class is its label, and its radius (0 when abstaining). */
  points: readonly { correct: boolean; radius: number }[];
  /** Radii to mark with their certified accuracy. */
  radii: readonly { radius: number; accuracy: number }[];
  /** The noise level, for the title. */
  sigma: number;
  /** sigma * Phi^-1(alpha^(1/N)): no radius can exceed it with N samples. */
  maxRadius: number;
  samples: number;
}

export interface CertifiedCurveRow {
  radius: number;
  accuracy: number;
}

const LINE_COLOR = '#1f2937';
const LIMIT_COLOR = '#e45756';

const CONFIG = {
  font: CHART_FONT,
  background: 'white',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e5e7eb' },
} as const;

/**
 * The curve's corners: certified accuracy at 0, then the value just past each radius at which a correct image
 * drops out, drawn 'step-after'; it runs on to `until` so that the marks to the right lie on it.
 */
export function certifiedCurveRows(
  points: CertifiedCurveInput['points'],
  until: number,
): CertifiedCurveRow[] {
  const total = points.length;
  if (total === 0) return [];
  const radii = points
    .filter((p) => p.correct)
    .map((p) => p.radius)
    .sort((a, b) => a - b);
  const rows: CertifiedCurveRow[] = [{ radius: 0, accuracy: radii.length / total }];
  let i = 0;
  while (i < radii.length) {
    const r = radii[i];
    while (i < radii.length && radii[i] === r) i++;
    // Certified at >= r still counts the images of radius r; just beyond r they are gone.
    if (r > 0) rows.push({ radius: r, accuracy: (radii.length - i) / total });
  }
  const last = rows[rows.length - 1];
  if (until > last.radius) rows.push({ radius: until, accuracy: last.accuracy });
  return rows;
}

export function certifiedAccuracySpec(input: CertifiedCurveInput): TopLevelSpec {
  const asked = input.radii.map((r) => r.radius);
  const until = Math.max(input.maxRadius, ...asked, ...input.points.map((p) => p.radius)) * 1.02;
  const rows = certifiedCurveRows(input.points, until);
  const x = {
    field: 'radius',
    type: 'quantitative' as const,
    title: `L2 radius (sigma ${input.sigma})`,
    scale: { domain: [0, until], nice: false },
  };
  const y = {
    field: 'accuracy',
    type: 'quantitative' as const,
    title: 'certified accuracy',
    scale: { domain: [0, 1] },
    axis: { format: '.0%', tickCount: 5 },
  };
  return {
    width: 520,
    height: 300,
    config: CONFIG,
    layer: [
      {
        data: { values: rows },
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2.5, color: LINE_COLOR },
        encoding: { x, y },
      },
      {
        data: { values: input.radii.map((r) => ({ radius: r.radius, accuracy: r.accuracy })) },
        mark: { type: 'point', filled: true, size: 50, color: LINE_COLOR },
        encoding: { x, y },
      },
      {
        data: { values: input.radii.map((r) => ({ radius: r.radius, accuracy: r.accuracy })) },
        mark: {
          type: 'text',
          align: 'left',
          dx: 6,
          dy: -8,
          fontSize: 11,
          fontWeight: 'bold',
          color: LINE_COLOR,
        },
        encoding: { x, y, text: { field: 'accuracy', type: 'quantitative', format: '.1%' } },
      },
      {
        data: {
          values: [
            { radius: input.maxRadius, label: `largest certifiable radius with N = ${input.samples}` },
          ],
        },
        mark: { type: 'rule', strokeDash: [5, 3], color: LIMIT_COLOR },
        encoding: { x },
      },
      {
        data: {
          values: [
            {
              radius: input.maxRadius,
              accuracy: 0.97,
              label: `max radius ${input.maxRadius.toFixed(3)} (N = ${input.samples})`,
            },
          ],
        },
        mark: { type: 'text', align: 'right', dx: -4, fontSize: 11, color: LIMIT_COLOR },
        encoding: { x, y, text: { field: 'label', type: 'nominal' } },
      },
    ],
  };
}

/** The certified-accuracy curve as a standalone, deterministic SVG that fetches nothing. */
export async function certifiedAccuracySvg(input: CertifiedCurveInput): Promise<string> {
  return renderChartSvg(certifiedAccuracySpec(input), 'certify');
}
