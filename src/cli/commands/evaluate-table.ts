import type { EvaluationReport } from '../../evaluate/report-types.js';

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

/**
 * The terminal summary of a report: one row per eps with the accuracy after each attack (cumulative worst
 * case) and the robust accuracy, then the sanity flags.
 */
export function evaluationTable(report: EvaluationReport, epsTexts: readonly string[]): string {
  // Rows are labelled by value, so a label can never sit beside another budget's numbers.
  const label = (eps: number): string => epsTexts[report.eps.indexOf(eps)] ?? String(eps);
  const attacks = report.suite.attacks.map((a) => a.name);
  const header = ['eps', 'clean', ...attacks.map((a) => `after ${a}`), 'robust'];
  const rows = report.robust.map((r) => [
    label(r.eps),
    pct(report.clean_acc),
    ...r.by_attack.map((s) => pct(s.accuracy_after)),
    pct(r.autoattack_acc),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  const out = [
    `${report.model.name} on ${report.dataset.name} ${report.dataset.split} (n=${report.dataset.n}), ` +
      `${report.threat_model}, suite ${report.suite.name}` +
      (report.dataset.sample === undefined ? '' : ` [bundled sample: ${report.dataset.sample}]`),
    line(header),
    ...rows.map(line),
  ];
  const warnings = report.flags.filter((f) => f.severity === 'warning');
  out.push(
    !report.sanity_checked
      ? 'sanity checks: skipped (--no-sanity); nothing was checked for gradient masking'
      : warnings.length === 0
        ? 'sanity checks: no warnings'
        : `sanity checks: ${warnings.length} warning(s) — the robust accuracy may be overstated`,
  );
  for (const f of report.flags) out.push(`  [${f.severity}] ${f.title}: ${f.detail} ${f.advice}`);
  return out.join('\n') + '\n';
}
