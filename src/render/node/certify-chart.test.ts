import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { describe, expect, it } from 'vitest';
import { certifiedAccuracySpec, certifiedAccuracySvg, certifiedCurveRows } from './certify-chart.js';

/** vega-lite's warnings for a spec (a warning means the chart does not show what we meant). */
function compileWarnings(spec: TopLevelSpec): string[] {
  const warnings: string[] = [];
  let level = 0;
  const logger = {
    level(l?: number) {
      if (l === undefined) return level;
      level = l;
      return logger;
    },
    error: (...args: unknown[]) => (warnings.push(args.join(' ')), logger),
    warn: (...args: unknown[]) => (warnings.push(args.join(' ')), logger),
    info: () => logger,
    debug: () => logger,
  };
  vl.compile(spec, { logger });
  return warnings;
}

const points = [
  { correct: true, radius: 0.4 },
  { correct: true, radius: 0.1 },
  { correct: false, radius: 0.7 },
  { correct: false, radius: 0 },
  { correct: true, radius: 0.4 },
];

describe('certified-accuracy curve', () => {
  it('steps down past each radius at which a correctly certified image drops out', () => {
    expect(certifiedCurveRows(points, 1)).toEqual([
      { radius: 0, accuracy: 0.6 },
      { radius: 0.1, accuracy: 0.4 },
      { radius: 0.4, accuracy: 0 },
      { radius: 1, accuracy: 0 },
    ]);
    expect(certifiedCurveRows([], 1)).toEqual([]);
  });

  it('renders a deterministic, self-contained SVG with the marked radii, their values and the sample cap', async () => {
    const input = {
      points,
      radii: [
        { radius: 0, accuracy: 0.6 },
        { radius: 0.25, accuracy: 0.4 },
      ],
      sigma: 0.25,
      maxRadius: 0.8,
      samples: 1000,
    };
    expect(compileWarnings(certifiedAccuracySpec(input))).toEqual([]);
    const svg = await certifiedAccuracySvg(input);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('L2 radius (sigma 0.25)');
    expect(svg).toContain('certified accuracy');
    expect(svg).toContain('60.0%');
    expect(svg).toContain('40.0%');
    expect(svg).toContain('max radius 0.800 (N = 1000)');
    expect(svg).not.toMatch(/<image|<script|<foreignObject|@import|href="http/);
    expect(await certifiedAccuracySvg(input)).toBe(svg);
  });
});
