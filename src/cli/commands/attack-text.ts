import type { Norm } from '../../attacks/types.js';
import type { AttackSummary, TransferSummary } from '../../tasks/attack-dataset.js';
import type { ImagesResult } from '../../tasks/attack-images.js';
import { flagLine, NORM_LABEL, percent } from '../../tasks/attack-shared.js';
import { summaryTable, type BudgetSummary } from '../../tasks/attack-summary.js';

/** The terminal text of `advkit attack`: the attack task's results as lines. */

type Shown = ImagesResult['images'][number]['clean'];
type ImageOutcome = ImagesResult['images'][number]['results'][number];

const label = (eps: number | null, text: string | undefined): string =>
  eps === null ? 'smallest found' : `eps ${text ?? String(eps)}`;

function distances(d: ImageOutcome['distances'], norm: Norm): string {
  const shown: Norm[] =
    norm === 'l1' ? ['l1', 'l2', 'linf'] : norm === 'l2' ? ['l2', 'linf'] : ['linf', 'l2'];
  return shown.map((n) => `${NORM_LABEL[n]} ${d[n].toPrecision(3)}`).join(' · ');
}

function outcome(r: ImagesResult, success: boolean): string {
  if (r.targetMode === 'untargeted') return success ? 'fooled' : 'not fooled';
  return success ? 'reached the target' : 'missed the target';
}

/** Image mode: before -> after per image and budget, the cost per budget, and what was written. */
export function imagesText(r: ImagesResult, out: string | null): string {
  const name = (t: Shown): string => `${t.label} ${percent(t.confidence)}`;
  const norm = r.norm as Norm;
  const lines = [
    `model: ${r.model}${r.defense !== undefined ? ` behind the defense ${r.defense}` : ''} (backend: ${r.backend})`,
    `attack: ${r.attack} (${r.norm}), ${r.goal}; ${flagLine(r.params)}`,
  ];
  for (const image of r.images) {
    image.results.forEach((o, e) => {
      const target =
        image.target !== null && (r.targetMode === 'random' || r.targetMode === 'least-likely')
          ? `, target ${image.target.label}`
          : '';
      lines.push(
        `${image.source} [${label(o.eps, r.epsText[e])}${target}]: ${name(image.clean)} -> ${name(o.prediction)}  ` +
          `${outcome(r, o.success)} (${distances(o.distances, norm)})`,
      );
    });
  }
  r.cost.forEach((c, e) => {
    lines.push(
      `cost [${label(c.eps, r.epsText[e])}]: ${c.gradientsPerImage.toFixed(0)} gradients and ` +
        `${c.queriesPerImage.toFixed(0)} queries per image, ${c.seconds.toFixed(1)} s`,
    );
  });
  for (const note of r.notes) lines.push(`note: ${note}`);
  lines.push(out === null ? '(give --out <file.png> to save the pictures)' : `wrote ${out}`);
  return lines.join('\n') + '\n';
}

function transferLines(t: TransferSummary | undefined, budgets: BudgetSummary[]): string[] {
  if (t === undefined) return [];
  return [
    `transfer to ${t.model} (clean accuracy ${percent(t.targetCleanAccuracy)}):`,
    ...t.results.map(
      (r, i) =>
        `  eps ${budgets[i].epsText}: ${r.transferred}/${r.eligible} transferred (${percent(r.transferRate)}), ` +
        `target accuracy ${percent(t.targetCleanAccuracy)} -> ${percent(r.targetAccuracy)}`,
    ),
  ];
}

/** Dataset mode: the sample, the table per budget, transfer, notes and what was written. */
export function datasetText(s: AttackSummary, modelDir: string, written: readonly string[]): string {
  const data = s.datasetSample === undefined ? '' : ` [bundled sample: ${s.datasetSample}]`;
  return (
    [
      `model: ${modelDir}${s.defense !== undefined ? ` behind the defense ${s.defense}` : ''} (backend: ${s.backend})`,
      `attack: ${s.attack} (${s.norm}), ${s.goal}; ${flagLine(s.params)}`,
      `data: ${s.dataset}/${s.split}, ${s.n} images (${s.sample})${data}; clean accuracy ${percent(s.cleanAccuracy)}`,
      summaryTable(s.results, s.norm as Norm).trimEnd(),
      'distances: medians over the images the model got right and the attack fooled',
      ...transferLines(s.transfer, s.results),
      ...s.notes.map((n) => `note: ${n}`),
      written.length > 0
        ? `wrote ${written.join(', ')}`
        : '(give --out <file.png> to save a gallery and a JSON summary)',
    ].join('\n') + '\n'
  );
}
