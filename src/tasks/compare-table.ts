import type { Norm } from '../attacks/types.js';
import type { ModelRobustness } from '../evaluate/compare.js';
import { percent } from './attack-shared.js';
import type { CompareSummary } from './compare.js';

interface Column {
  group: string;
  eps: string;
  value: (row: ModelRobustness) => number;
}

/** Clean, then each attack at each eps, then the worst case over the attacks at each eps. */
function columns(s: CompareSummary): Column[] {
  const perEps = (group: string, values: (row: ModelRobustness) => number[]): Column[] =>
    s.epsText.map((eps, e) => ({ group, eps, value: (row) => values(row)[e] }));
  return [
    { group: '', eps: 'clean', value: (row) => row.cleanAccuracy },
    ...s.attacks.flatMap((a, k) => perEps(a.label, (row) => row.attacks[k].accuracy)),
    ...(s.attacks.length > 1 ? perEps('robust', (row) => row.worstCase) : []),
  ];
}

export const NORM_NAME: Readonly<Record<Norm, string>> = { linf: 'Linf', l2: 'L2', l1: 'L1' };

/** The terminal table: a header line of column groups (attacks) over a line of budgets. */
export function compareTable(s: CompareSummary): string {
  const cols = columns(s);
  const first = Math.max('model'.length, ...s.models.map((m) => m.name.length));
  const cells = s.models.map((row) => cols.map((c) => percent(c.value(row))));
  const widths = cols.map((c, k) => Math.max(c.eps.length, ...cells.map((r) => r[k].length)));
  const groups = cols.map((c, k) => (k === 0 || cols[k - 1].group !== c.group ? c.group : ''));
  const line = (head: string, row: string[]): string =>
    [head.padEnd(first), ...row.map((cell, k) => cell.padStart(widths[k]))].join('  ').trimEnd();
  const groupLine = [
    ''.padEnd(first),
    ...groups.map((g, k) => (g === '' ? ''.padEnd(widths[k]) : g.padEnd(widths[k]))),
  ]
    .join('  ')
    .trimEnd();
  return (
    [
      groupLine,
      line(
        'model',
        cols.map((c) => c.eps),
      ),
      ...s.models.map((row, r) => line(row.name, cells[r])),
    ].join('\n') + '\n'
  );
}

/** The same table in Markdown, with a line saying what was measured. */
export function compareMarkdown(s: CompareSummary): string {
  const cols = columns(s);
  const header = cols.map((c) => (c.group === '' ? c.eps : `${c.group} ${c.eps}`));
  return [
    `Accuracy on ${s.n} ${s.dataset.name} ${s.dataset.split} images (${s.dataset.sample}), ${NORM_NAME[s.norm]} ` +
      `budgets, untargeted attacks (${s.attacks.map((a) => `${a.label}: ${paramText(a.params)}`).join('; ')}), ` +
      `seed ${s.seed}${s.attacks.length > 1 ? '; robust = correct under every attack' : ''}.`,
    '',
    `| model | ${header.join(' | ')} |`,
    `|---|${cols.map(() => '---:').join('|')}|`,
    ...s.models.map((row) => `| ${row.name} | ${cols.map((c) => percent(c.value(row))).join(' | ')} |`),
    '',
    ...s.dataset.notes.map((note) => `- ${note}`),
    ...(s.dataset.notes.length > 0 ? [''] : []),
    `\`${s.command}\``,
    '',
  ].join('\n');
}

/** 'steps 40, relStepSize 0.025': an attack's parameters as they ran. */
export function paramText(params: Readonly<Record<string, unknown>>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? Number(v.toPrecision(4)) : String(v)}`);
  return parts.length === 0 ? 'defaults' : parts.join(', ');
}
