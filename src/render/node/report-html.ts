import type { EpsResult, EvaluationReport } from '../../evaluate/report-types.js';
import { perClassRows, perClassSvg, robustnessCurveSvg } from './report-charts.js';
import {
  className,
  escapeHtml,
  formatCount,
  formatEps,
  formatPercent,
  formatSeconds,
} from './report-format.js';
import { galleryHtml, type ReportGalleryItem } from './report-gallery-html.js';
import { inlineSvg, reportPage, reportSection as section } from './report-page.js';

export type { ReportGalleryItem } from './report-gallery-html.js';

/**
 * The evaluation report as one self-contained HTML page: inline CSS, the charts as inline SVG, the gallery's
 * images as data: URIs. It runs no script and fetches nothing, so it can be mailed, archived or opened
 * offline. Every piece of text from the report is escaped.
 */
export async function renderReportHtml(
  report: EvaluationReport,
  gallery: readonly ReportGalleryItem[],
): Promise<string> {
  const [curve, perClass, examples] = await Promise.all([
    robustnessCurveSvg(report),
    perClassSvg(report),
    galleryHtml(report, gallery),
  ]);
  const title = `Robustness of ${report.model.name} on ${report.dataset.name}`;
  return reportPage(title, [
    headerHtml(report, title),
    flagsHtml(report),
    defenseHtml(report),
    section('Accuracy against the budget', [
      `<div class="chart">${inlineSvg(curve)}</div>`,
      '<p class="note">Robust accuracy is the worst case per example over the suite (AutoAttack protocol, ' +
        'Croce &amp; Hein 2020): a point counts as robust only if no attack broke it. Dashed lines: accuracy ' +
        'after each attack, in suite order, each one run on the points still robust.</p>',
    ]),
    section(
      'Attacks per budget',
      report.robust.map((r) => attackTable(report, r)),
    ),
    section('Per class', perClassHtml(report, perClass)),
    section('Gallery', [
      '<p class="note">Original, adversarial and the perturbation amplified ten times around mid-gray ' +
        '(gray: unchanged). Predictions in red differ from the true label.</p>',
      examples,
    ]),
    section('Suite', [suiteTable(report)]),
    section('Environment', [environmentHtml(report)]),
    section('Reproduce', [`<pre><code>${escapeHtml(report.command)}</code></pre>`]),
    `<footer>advkit ${escapeHtml(report.advkit.version)} · ${escapeHtml(report.format)}</footer>`,
  ]);
}

const epsName = (report: EvaluationReport, eps: number): string =>
  `${report.threat_model} eps ${formatEps(eps)}`;

function headerHtml(report: EvaluationReport, title: string): string {
  const { dataset, suite } = report;
  const sub = [
    `${report.threat_model} threat model`,
    `suite ${suite.name} (${suite.attacks.map((a) => a.name).join(', ')})`,
    `${formatCount(dataset.n)} points of ${dataset.name}/${dataset.split}` +
      (dataset.sample === undefined ? '' : ' (bundled sample)'),
    `seed ${report.seed}`,
    `${report.started}, ${formatSeconds(report.seconds)}`,
  ];
  const card = (label: string, value: string, kind: string): string =>
    `<div class="card ${kind}"><div class="label">${escapeHtml(label)}</div>` +
    `<div class="value">${escapeHtml(value)}</div></div>`;
  const warnings = report.flags.filter((f) => f.severity === 'warning').length;
  const banner =
    warnings > 0
      ? `<div class="banner warning">${warnings} sanity ${warnings === 1 ? 'check' : 'checks'} warned: ` +
        'the robust accuracy below may be overstated. See the flags.</div>'
      : '';
  return [
    '<header>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="sub">${sub.map(escapeHtml).join(' · ')}</p>`,
    banner,
    '<div class="cards">',
    card('clean accuracy', formatPercent(report.clean_acc), 'clean'),
    ...report.robust.map((r) =>
      card(`robust accuracy, ${epsName(report, r.eps)}`, formatPercent(r.autoattack_acc), 'robust'),
    ),
    '</div>',
    '</header>',
  ].join('\n');
}

function flagsHtml(report: EvaluationReport): string {
  const flags = report.flags;
  if (!report.sanity_checked) {
    return section('Sanity checks', [
      '<div class="banner warning">Skipped (--no-sanity): nothing was checked for signs of gradient masking, ' +
        'so nothing here vouches for the robust accuracy. Run the evaluation again without --no-sanity.</div>',
    ]);
  }
  if (flags.length === 0) {
    return section('Sanity checks', [
      '<div class="banner ok">No flags: none of the sanity checks found a sign that this evaluation ' +
        'overstates robustness.</div>',
    ]);
  }
  const ordered = [...flags].sort(
    (a, b) => Number(b.severity === 'warning') - Number(a.severity === 'warning'),
  );
  return section('Sanity checks', [
    '<p class="note">Checks after Carlini et al. 2019 ("On Evaluating Adversarial Robustness") and ' +
      'Croce &amp; Hein 2020.</p>',
    ...ordered.map(
      (f) =>
        `<div class="flag ${f.severity === 'warning' ? 'warning' : 'info'}">` +
        `<h3><span class="severity">${escapeHtml(f.severity)}</span>${escapeHtml(f.title)}</h3>` +
        `<p>${escapeHtml(f.detail)}</p>` +
        `<p><b>What to do:</b> ${escapeHtml(f.advice)}</p>` +
        `<div class="id">${escapeHtml(f.id)}</div></div>`,
    ),
  ]);
}

/**
 * The defense in front of the model: how the numbers were attacked through it, and, when the naive run was
 * asked for too, its accuracy beside the adaptive one with its own flags (Athalye et al. 2018's comparison).
 */
function defenseHtml(report: EvaluationReport): string {
  const defense = report.defense;
  if (defense === undefined) return '';
  const kind = defense.gradients === 'adaptive' ? 'ok' : 'warning';
  const body = [
    `<div class="banner ${kind}">Defense <code>${escapeHtml(defense.spec)}</code> ` +
      `(${defense.differentiable ? 'differentiable' : 'not differentiable'}, ` +
      `${defense.random ? 'random' : 'deterministic'}). ${escapeHtml(defense.note)}</div>`,
  ];
  const naive = defense.naive;
  if (naive !== undefined) {
    const rows = report.robust.map((r) => {
      const n = naive.robust.find((v) => v.eps === r.eps);
      return (
        `<tr>${cell(epsName(report, r.eps))}${num(n === undefined ? '' : formatPercent(n.autoattack_acc))}` +
        `${num(formatPercent(r.autoattack_acc))}</tr>`
      );
    });
    body.push(
      `<p class="note">The naive evaluation (plain gradients, no EOT; suite ${escapeHtml(naive.suite.name)}) ` +
        'ran on the same points. Its accuracy is what an evaluation that ignores the defense would report; ' +
        'the adaptive one is the defense&#39;s robustness.</p>',
      '<table>',
      head(['budget', 'naive robust accuracy', 'adaptive robust accuracy'], 2),
      ...rows,
      '</table>',
      ...naive.flags.map(
        (f) =>
          `<div class="flag ${f.severity === 'warning' ? 'warning' : 'info'}">` +
          `<h3><span class="severity">${escapeHtml(f.severity)}</span>naive run: ${escapeHtml(f.title)}</h3>` +
          `<p>${escapeHtml(f.detail)}</p><p><b>What to do:</b> ${escapeHtml(f.advice)}</p>` +
          `<div class="id">${escapeHtml(f.id)}</div></div>`,
      ),
    );
  }
  return section('Defense', body);
}

const cell = (text: string): string => `<td>${escapeHtml(text)}</td>`;
const num = (text: string): string => `<td class="num">${escapeHtml(text)}</td>`;
const head = (labels: readonly string[], numeric: number): string =>
  `<tr>${labels.map((l, i) => `<th${i >= labels.length - numeric ? ' class="num"' : ''}>${escapeHtml(l)}</th>`).join('')}</tr>`;

function attackTable(report: EvaluationReport, result: EpsResult): string {
  const rows = result.by_attack.map(
    (s) =>
      `<tr>${cell(s.name)}${num(formatCount(s.attacked))}${num(formatCount(s.newly_broken))}` +
      `${num(formatPercent(s.accuracy_after))}${num(formatCount(s.gradients_per_point))}` +
      `${num(formatCount(s.queries_per_point))}${num(formatSeconds(s.seconds))}</tr>`,
  );
  const total = (pick: (s: EpsResult['by_attack'][number]) => number): number =>
    result.by_attack.reduce((sum, s) => sum + pick(s), 0);
  rows.push(
    `<tr class="total">${cell('worst case')}${num('')}` +
      `${num(formatCount(total((s) => s.newly_broken)))}${num(formatPercent(result.autoattack_acc))}` +
      `${num(formatCount(total((s) => s.gradients_per_point)))}` +
      `${num(formatCount(total((s) => s.queries_per_point)))}${num(formatSeconds(total((s) => s.seconds)))}</tr>`,
  );
  return [
    `<h3>${escapeHtml(epsName(report, result.eps))}: robust accuracy ${escapeHtml(formatPercent(result.autoattack_acc))}</h3>`,
    '<table>',
    head(
      ['attack', 'ran on', 'newly broken', 'accuracy after', 'gradients / point', 'queries / point', 'time'],
      6,
    ),
    ...rows,
    '</table>',
  ].join('\n');
}

/** Collapsed when long (ImageNet has 1000 classes), open otherwise. */
const PER_CLASS_OPEN = 20;

function perClassHtml(report: EvaluationReport, chart: string): string[] {
  const { shown, total } = perClassRows(report);
  const last = report.robust[report.robust.length - 1];
  const note =
    shown < total && last !== undefined
      ? `<p class="note">The chart shows the ${shown} of ${total} classes with the lowest robust accuracy at ` +
        `${escapeHtml(epsName(report, last.eps))}; the table lists them all.</p>`
      : '';
  const classes = [...new Set(report.robust.flatMap((r) => r.per_class.map((c) => c.class)))].sort(
    (a, b) => a - b,
  );
  const rows = classes.map((c) => {
    const entries = report.robust.map((r) => r.per_class.find((p) => p.class === c));
    const first = entries.find((e) => e !== undefined);
    return (
      `<tr>${num(String(c))}${cell(className(report.class_names, c))}` +
      `${num(first === undefined ? '–' : formatCount(first.n))}` +
      `${num(first === undefined ? '–' : formatPercent(first.clean_acc))}` +
      `${entries.map((e) => num(e === undefined ? '–' : formatPercent(e.robust_acc))).join('')}</tr>`
    );
  });
  const table = [
    '<table>',
    `<tr><th class="num">class</th><th>name</th><th class="num">points</th><th class="num">clean</th>` +
      report.robust.map((r) => `<th class="num">${escapeHtml(epsName(report, r.eps))}</th>`).join('') +
      '</tr>',
    ...rows,
    '</table>',
  ].join('\n');
  return [
    `<div class="chart">${inlineSvg(chart)}</div>`,
    ...(note === '' ? [] : [note]),
    `<details${classes.length <= PER_CLASS_OPEN ? ' open' : ''}><summary>Table: accuracy per class ` +
      `(${classes.length} classes)</summary>\n${table}\n</details>`,
  ];
}

function suiteTable(report: EvaluationReport): string {
  return [
    '<table>',
    head(['name', 'attack', 'parameters', 'EOT passes'], 0),
    ...report.suite.attacks.map(
      (a) =>
        `<tr>${cell(a.name)}${cell(a.attack)}<td><code>${escapeHtml(JSON.stringify(a.params))}</code></td>` +
        `${cell(String(a.eot))}</tr>`,
    ),
    '</table>',
  ].join('\n');
}

function environmentHtml(report: EvaluationReport): string {
  const { advkit, model, dataset } = report;
  const entries: [string, string][] = [
    ['advkit', advkit.version],
    ['TensorFlow.js', advkit.tfjs],
    ['backend', advkit.backend],
    ['seed', String(report.seed)],
    ['model', model.name],
    ['model path', model.path ?? '–'],
    ['architecture', model.architecture ?? '–'],
    ['model sha256', model.sha256 ?? '–'],
    ['dataset', `${dataset.name} (${dataset.split}), ${formatCount(dataset.n)} points`],
    ...dataSourceRows(dataset),
    ['dataset sha256', dataset.sha256],
    ['threat model', `${report.threat_model}, eps ${report.eps.map(formatEps).join(', ')}`],
    ['started', report.started],
    ['duration', formatSeconds(report.seconds)],
    ['report format', report.format],
  ];
  const body = entries.map(([k, v]) => {
    const value = k.endsWith('sha256') ? `<code>${escapeHtml(v)}</code>` : escapeHtml(v);
    return `<dt>${escapeHtml(k)}</dt><dd>${value}</dd>`;
  });
  return `<dl class="env">${body.join('')}</dl>`;
}

/** Where the points came from, when a reader must know: the bundled sample, and the data's notes. */
function dataSourceRows(dataset: EvaluationReport['dataset']): [string, string][] {
  const rows: [string, string][] = (dataset.notes ?? []).map((note) => ['data note', note]);
  return dataset.sample === undefined
    ? rows
    : [['data source', `bundled sample: ${dataset.sample}`], ...rows];
}
