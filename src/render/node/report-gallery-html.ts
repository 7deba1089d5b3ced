import sharp from 'sharp';
import type { EvaluationReport } from '../../evaluate/report-types.js';
import { displaySize, resizeImage, type PixelImage } from '../pixel-image.js';
import { className, escapeHtml, formatEps } from './report-format.js';

/**
 * One evaluated point shown in the report's gallery: the clean input, the adversarial one at `eps`, and the
 * perturbation (adv - clean around mid-gray, amplified 10x: see perturbationImage). Plain data; labels and
 * predictions are class indices into the report's `class_names`.
 */
export interface ReportGalleryItem {
  /** The point's index in the evaluated set. */
  index: number;
  eps: number;
  /** The suite attack that broke it first, or null when none did (robust, or misclassified clean). */
  attack: string | null;
  label: number;
  cleanPrediction: number;
  adversarialPrediction: number;
  original: PixelImage;
  adversarial: PixelImage;
  perturbation: PixelImage;
}

/** Panels are drawn at least this big (small inputs enlarged, crisp) and at most this big (photos shrunk). */
const PANEL_MIN = 96;
const PANEL_MAX = 160;

/** A PNG data: URI of the image, at most PANEL_MAX pixels on a side (the page enlarges small ones). */
export async function pngDataUri(image: PixelImage): Promise<string> {
  const [h, w] = displaySize(image.height, image.width, { min: 1, max: PANEL_MAX });
  const img = resizeImage(image, h, w);
  const png = await sharp(img.data, {
    raw: { width: img.width, height: img.height, channels: img.channels },
  })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

async function panel(image: PixelImage, alt: string): Promise<string> {
  const [h, w] = displaySize(image.height, image.width, { min: PANEL_MIN, max: PANEL_MAX });
  const src = await pngDataUri(image);
  return `<img src="${src}" width="${w}" height="${h}" alt="${escapeHtml(alt)}">`;
}

function outcome(item: ReportGalleryItem): { text: string; kind: 'broken' | 'robust' | 'wrong' } {
  if (item.attack !== null) return { text: `broken by ${item.attack}`, kind: 'broken' };
  if (item.cleanPrediction !== item.label) return { text: 'misclassified without attack', kind: 'wrong' };
  return { text: 'robust: no attack broke it', kind: 'robust' };
}

async function galleryFigure(item: ReportGalleryItem, names: readonly string[]): Promise<string> {
  const name = (c: number): string => escapeHtml(className(names, c));
  const result = outcome(item);
  const changed = item.adversarialPrediction !== item.label ? ' class="changed"' : '';
  const panels = await Promise.all([
    panel(item.original, `original #${item.index}`),
    panel(item.adversarial, `adversarial #${item.index} at eps ${formatEps(item.eps)}`),
    panel(item.perturbation, `perturbation x10 #${item.index}`),
  ]);
  return [
    `<figure class="example ${result.kind}">`,
    '<div class="panels">',
    ...panels.map((img, k) => `<div>${img}<span>${['original', 'adversarial', 'noise ×10'][k]}</span></div>`),
    '</div>',
    '<figcaption>',
    `<div><b>#${item.index}</b> · true <b>${name(item.label)}</b></div>`,
    `<div>clean → ${name(item.cleanPrediction)} · adversarial → <b${changed}>${name(item.adversarialPrediction)}</b></div>`,
    `<div class="outcome">${escapeHtml(result.text)}</div>`,
    '</figcaption>',
    '</figure>',
  ].join('');
}

/** The gallery's HTML: one block per budget (the report's order first), a figure per point. */
export async function galleryHtml(
  report: Pick<EvaluationReport, 'eps' | 'threat_model' | 'class_names'>,
  items: readonly ReportGalleryItem[],
): Promise<string> {
  if (items.length === 0) return '<p class="note">No examples were kept for the gallery.</p>';
  const order = [...new Set([...report.eps, ...[...items].map((i) => i.eps).sort((a, b) => a - b)])];
  const blocks: string[] = [];
  for (const eps of order) {
    const group = items.filter((i) => i.eps === eps);
    if (group.length === 0) continue;
    const figures = await Promise.all(group.map((item) => galleryFigure(item, report.class_names)));
    blocks.push(
      `<h3>${escapeHtml(report.threat_model)} eps ${escapeHtml(formatEps(eps))}</h3>`,
      `<div class="gallery">${figures.join('')}</div>`,
    );
  }
  return blocks.join('\n');
}
