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
    `${report.model.name}${report.defense === undefined ? '' : ` behind ${report.defense.spec}`} on ${report.dataset.name} ${report.dataset.split} (n=${report.dataset.n}), ` +
      `${report.threat_model}, suite ${report.suite.name}` +
      (report.dataset.sample === undefined ? '' : ` [bundled sample: ${report.dataset.sample}]`),
    line(header),
    ...rows.map(line),
  ];
  if (report.defense !== undefined) out.push(...defenseLines(report, label));
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

/** The defense's lines: how the numbers above were attacked, and the naive run beside them when it ran. */
function defenseLines(report: EvaluationReport, label: (eps: number) => string): string[] {
  const defense = report.defense;
  if (defense === undefined) return [];
  const lines = [`defense ${defense.spec}: ${defense.note}`];
  const naive = defense.naive;
  if (naive !== undefined) {
    lines.push(
      `naive evaluation (plain gradients, no EOT; suite ${naive.suite.name}) on the same points: ` +
        naive.robust.map((r) => `eps ${label(r.eps)} ${pct(r.autoattack_acc)}`).join(', ') +
        ` against ${report.robust.map((r) => pct(r.autoattack_acc)).join(', ')} adaptive`,
    );
    const warnings = naive.flags.filter((f) => f.severity === 'warning');
    for (const f of warnings) lines.push(`  [naive run: ${f.severity}] ${f.title}: ${f.detail}`);
  }
  return lines;
}
