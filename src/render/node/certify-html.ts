import { escapeHtml, formatCount, formatPercent, formatSeconds } from './report-format.js';
import { inlineSvg, reportPage, reportSection as section } from './report-page.js';

/** What the certification page shows: the certify task's result has these fields. */
export interface CertifyReportInput {
  model: { name: string; dir: string };
  data: { name: string; split: string; n: number; notes: string[] };
  settings: { sigma: number; n0: number; samples: number; alpha: number; seed: number };
  certifiedAccuracy: readonly { radius: number; accuracy: number }[];
  abstained: number;
  secondsPerImage: number;
  sampleLimit: { maxRadius: number; explanation: string };
  points: readonly { source: string; label: number; prediction: number; radius: number; pALower: number }[];
  radiusCheck?: {
    attacked: number;
    changed: number;
    abstained: number;
    attack: { steps: number; eot: number; predictSamples: number };
  };
  backend: string;
  command?: string;
}

/**
 * The certification report (randomized smoothing, Cohen, Rosenfeld & Kolter 2019) as one self-contained HTML
 * page, styled as the evaluation report: the certified-accuracy curve (`svg`, certify-chart.ts), the table per
 * radius, what the sample count allows, the empirical check of the certificates when it ran, each image's
 * certificate, and the command. No script, nothing fetched, every text escaped.
 */
export function certifyReportHtml(r: CertifyReportInput, svg: string): string {
  const s = r.settings;
  const title = `Certified robustness of ${r.model.name} on ${r.data.name}`;
  const head = (labels: readonly string[]): string =>
    `<tr>${labels.map((l, i) => `<th${i > 0 ? ' class="num"' : ''}>${escapeHtml(l)}</th>`).join('')}</tr>`;
  const row = (cells: readonly string[]): string =>
    `<tr>${cells.map((c, i) => `<td${i > 0 ? ' class="num"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`;
  const check = r.radiusCheck;
  const checkHtml =
    check === undefined
      ? ''
      : section('Attacking inside the certificates', [
          `<div class="banner ${check.changed === 0 ? 'ok' : 'warning'}">${formatCount(check.attacked)} certified ` +
            `images attacked inside their radius (L2 PGD-${check.attack.steps} with EOT over ` +
            `${check.attack.eot} noise draws, then PREDICT with ${formatCount(check.attack.predictSamples)} ` +
            `samples): the smoothed class changed on ${check.changed} (it never should), PREDICT abstained on ` +
            `${check.abstained}.</div>`,
        ]);
  return reportPage(title, [
    '<header>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="sub">${escapeHtml(
      `randomized smoothing, sigma ${s.sigma} · n0 ${formatCount(s.n0)}, N ${formatCount(s.samples)}, ` +
        `alpha ${s.alpha} · ${formatCount(r.data.n)} images of ${r.data.name}/${r.data.split} · seed ${s.seed} · ` +
        `${formatSeconds(r.secondsPerImage)} per image on ${r.backend}`,
    )}</p>`,
    '</header>',
    section('Certified accuracy against the L2 radius', [
      `<div class="chart">${inlineSvg(svg)}</div>`,
      '<table>',
      head(['L2 radius', 'certified accuracy']),
      ...r.certifiedAccuracy.map((c) => row([String(c.radius), formatPercent(c.accuracy)])),
      '</table>',
      `<p class="note">An image counts at radius r when the smoothed classifier gives its label with a ` +
        `certified radius of at least r (Cohen et al. 2019, CERTIFY). Abstained on ${r.abstained} of ` +
        `${r.points.length}. ${escapeHtml(r.sampleLimit.explanation)}</p>`,
    ]),
    checkHtml,
    section('Per image', [
      '<table>',
      head(['image', 'label', 'smoothed class', 'pA lower bound', 'radius']),
      ...r.points.map((p) =>
        row([
          p.source,
          String(p.label),
          p.prediction < 0 ? 'abstain' : String(p.prediction),
          p.pALower.toFixed(4),
          p.radius.toFixed(3),
        ]),
      ),
      '</table>',
    ]),
    section('Reproduce', [
      `<pre><code>${escapeHtml(r.command ?? `advkit certify --model ${r.model.dir} --sigma ${s.sigma}`)}</code></pre>`,
      ...r.data.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`),
    ]),
  ]);
}
