import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { describe, expect, it } from 'vitest';
import {
  curveRows,
  perClassRows,
  perClassSpec,
  perClassSvg,
  renumberIds,
  robustnessCurveSpec,
  robustnessCurveSvg,
} from './report-charts.js';
import { sampleReport } from './report-test-fixture.js';

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

/** Everything in an SVG that could make a viewer fetch something. */
function externalReferences(svg: string): string[] {
  const refs = [...svg.matchAll(/(?:href|src)="([^"]*)"|url\(([^)]*)\)|@import/g)].map((m) => m[0]);
  return refs.filter((r) => !/^(?:href="#|url\(#)/.test(r));
}

describe('robustness curve', () => {
  it('starts every series at the clean accuracy at eps 0 and follows the worst case and each attack', () => {
    const report = sampleReport({ eps: [0.1, 0.3] });
    const rows = curveRows(report);
    const robust = rows.filter((r) => r.series.startsWith('worst case'));
    expect(robust.map((r) => [r.eps, r.accuracy])).toEqual([
      [0, report.clean_acc],
      [0.1, report.robust[0].autoattack_acc],
      [0.3, report.robust[1].autoattack_acc],
    ]);
    const apgdT = rows.filter((r) => r.series === 'after apgd-t').map((r) => r.accuracy);
    expect(apgdT).toEqual([report.clean_acc, ...report.robust.map((r) => r.by_attack[1].accuracy_after)]);
    expect(new Set(rows.map((r) => r.series)).size).toBe(5);
    expect(curveRows(report, { byAttack: false }).every((r) => r.series.startsWith('worst case'))).toBe(true);
  });

  it('does not add a clean point when the report evaluated eps 0 itself', () => {
    const rows = curveRows(sampleReport({ eps: [0, 0.3] }), { byAttack: false });
    expect(rows.map((r) => r.eps)).toEqual([0, 0.3]);
  });

  it.each([
    ['linf', [8 / 255], 'Linf'],
    ['linf', [2 / 255, 4 / 255, 8 / 255], 'Linf'],
    ['l2', [0.5], 'L2'],
    ['l2', [0.25, 0.5, 1, 2], 'L2'],
  ] as const)('renders %s with eps %j as a deterministic, self-contained SVG', async (norm, eps, name) => {
    const report = sampleReport({ norm, eps: [...eps] });
    expect(compileWarnings(robustnessCurveSpec(report))).toEqual([]);
    const svg = await robustnessCurveSvg(report);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain(`eps (${name})`);
    expect(svg).toContain('worst case (robust accuracy)');
    expect(svg).toContain('after square');
    expect(svg).toContain(`${(report.robust[eps.length - 1].autoattack_acc * 100).toFixed(1)}%`);
    if (norm === 'linf') expect(svg).toContain('8/255');
    expect(externalReferences(svg)).toEqual([]);
    expect(svg).not.toMatch(/<image|<script|<foreignObject/);
    expect(await robustnessCurveSvg(report)).toBe(svg);
  });
});

describe('per-class chart', () => {
  it('has a clean bar and a bar per budget for every class', () => {
    const report = sampleReport({ eps: [0.1, 0.3], classes: 3 });
    const { rows, shown, total } = perClassRows(report);
    expect([shown, total]).toEqual([3, 3]);
    expect(rows.filter((r) => r.classIndex === 2).map((r) => [r.series, r.accuracy])).toEqual([
      ['clean', report.robust[0].per_class[2].clean_acc],
      ['robust, eps 0.1', report.robust[0].per_class[2].robust_acc],
      ['robust, eps 0.3', report.robust[1].per_class[2].robust_acc],
    ]);
    const one = perClassRows(report, { eps: [0.3] }).rows;
    expect([...new Set(one.map((r) => r.series))]).toEqual(['clean', 'robust, eps 0.3']);
  });

  it('keeps the weakest classes at the largest budget when there are too many to draw', () => {
    const report = sampleReport({ eps: [0.1], classes: 30 });
    const { rows, shown, total } = perClassRows(report, { maxClasses: 10 });
    expect([shown, total]).toEqual([10, 30]);
    const kept = [...new Set(rows.map((r) => r.classIndex))];
    // The fixture lowers robust accuracy for classes c % 3 == 2, then c % 3 == 1.
    expect(kept).toEqual([2, 5, 8, 11, 14, 17, 20, 23, 26, 29]);
  });

  it('tells apart classes that share a display name', () => {
    const report = sampleReport({ eps: [0.1], classes: 3, classNames: ['cat', 'cat', 'dog'] });
    expect([...new Set(perClassRows(report).rows.map((r) => r.class))]).toEqual([
      'cat (0)',
      'cat (1)',
      'dog',
    ]);
  });

  it.each([
    ['linf', [0.3]],
    ['l2', [0.5, 1, 1.5]],
  ] as const)('renders %s with eps %j; class names are text, never markup', async (norm, eps) => {
    const names = ['<script>alert(1)</script>', 'a & b', ...Array.from({ length: 8 }, (_, i) => `c${i}`)];
    const report = sampleReport({ norm, eps: [...eps], classNames: names });
    expect(compileWarnings(perClassSpec(report))).toEqual([]);
    const svg = await perClassSvg(report);
    expect(svg).not.toContain('<script');
    expect(svg).toContain('&lt;script&gt;');
    expect(svg).toContain('clean');
    expect(svg).toContain(`robust, eps ${eps[eps.length - 1]}`);
    expect(externalReferences(svg)).toEqual([]);
    expect(await perClassSvg(report)).toBe(svg);
  });
});

describe('renumberIds', () => {
  it('renames ids and their references in order of appearance, leaving other text alone', () => {
    const svg =
      '<svg><defs><clipPath id="clip7"><rect/></clipPath><linearGradient id="g3"/></defs>' +
      '<g clip-path="url(#clip7)" fill="url(#g3)"><use href="#clip7"/><text>id="clip7"</text></g></svg>';
    expect(renumberIds(svg, 'curve')).toBe(
      '<svg><defs><clipPath id="curve-1"><rect/></clipPath><linearGradient id="curve-2"/></defs>' +
        '<g clip-path="url(#curve-1)" fill="url(#curve-2)"><use href="#curve-1"/><text>id="clip7"</text></g></svg>',
    );
  });
});
