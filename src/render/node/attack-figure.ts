import { displaySize, resizeImage, type PixelImage } from '../pixel-image.js';
import type { TextItem } from '../svg-text.js';
import { renderCanvasPng, type FigureBox, type PlacedImage } from './canvas-png.js';

/** A class and its softmax probability, as shown in a panel title. */
export interface ShownPrediction {
  label: string;
  confidence: number;
}

/** One attacked image at one budget: the three panels and what to write above them. */
export interface AttackFigureRow {
  /** What the image is (a file name, 'mnist/test#12'). */
  name: string;
  /** The budget as the user gave it ('eps 8/255'), or a note for minimal attacks. */
  budget: string;
  original: PixelImage;
  adversarial: PixelImage;
  /** adv - clean around mid-gray (see perturbationImage). */
  perturbation: PixelImage;
  clean: ShownPrediction;
  adversarialPrediction: ShownPrediction;
  /** The attack's goal was met (drawn in red). */
  success: boolean;
  /** Distances for the perturbation panel ('Linf 0.0314  L2 2.95'). */
  distance: string;
}

export interface AttackFigureOptions {
  /** A line above the rows (attack, norm, goal). */
  title?: string;
  /** The factor the perturbation panels were amplified by, for their title (default 10). */
  amplify?: number;
}

export interface AttackFigureLayout {
  width: number;
  height: number;
  /** Per row: the original, adversarial and perturbation panels. */
  panels: [FigureBox, FigureBox, FigureBox][];
}

const MARGIN = 16;
const GAP = 12;
const ROW_GAP = 20;
const HEADER_SIZE = 16;
const HEADER_HEIGHT = 32;
const TITLE_SIZE = 14;
const LINE = 19;
/** Two title lines and a little air above each panel. */
const TITLES_HEIGHT = 2 * LINE + 6;
/** Columns are at least this wide, so that a title such as 'Labrador_retriever 98.7%' fits. */
const MIN_COLUMN = 220;
/** Small inputs (MNIST, CIFAR) are enlarged by a whole factor to at least this size; big photos shrunk. */
const PANEL_MIN = 224;
const PANEL_MAX = 448;
const RED = '#c62828';
const GRAY = '#555';

/** Where everything goes: rows of three panels with two title lines each, under an optional header. */
export function layoutAttackFigure(
  rows: readonly AttackFigureRow[],
  options: AttackFigureOptions = {},
): AttackFigureLayout {
  let top = MARGIN + (options.title === undefined ? 0 : HEADER_HEIGHT);
  let width = 0;
  const panels: AttackFigureLayout['panels'] = [];
  for (const row of rows) {
    const [h, w] = displaySize(row.original.height, row.original.width, { min: PANEL_MIN, max: PANEL_MAX });
    const column = Math.max(w, MIN_COLUMN);
    const panelTop = top + TITLES_HEIGHT;
    const box = (i: number): FigureBox => ({
      left: MARGIN + i * (column + GAP) + Math.floor((column - w) / 2),
      top: panelTop,
      width: w,
      height: h,
    });
    panels.push([box(0), box(1), box(2)]);
    width = Math.max(width, 2 * MARGIN + 3 * column + 2 * GAP);
    top = panelTop + h + ROW_GAP;
  }
  return { width, height: top - ROW_GAP + MARGIN, panels };
}

const percent = (p: ShownPrediction): string => `${p.label} ${(100 * p.confidence).toFixed(1)}%`;

/**
 * original | adversarial | perturbation, one row per image and budget, each panel titled with its top
 * prediction and confidence. Returns PNG bytes.
 */
export async function renderAttackFigure(
  rows: readonly AttackFigureRow[],
  options: AttackFigureOptions = {},
): Promise<Buffer> {
  const layout = layoutAttackFigure(rows, options);
  const images: PlacedImage[] = [];
  const texts: TextItem[] = [];
  if (options.title !== undefined) {
    texts.push({
      text: options.title,
      x: MARGIN,
      y: MARGIN + HEADER_SIZE,
      size: HEADER_SIZE,
      bold: true,
      maxWidth: layout.width - 2 * MARGIN,
    });
  }
  rows.forEach((row, r) => {
    const boxes = layout.panels[r];
    const column = Math.max(boxes[0].width, MIN_COLUMN);
    const titles: [string, string, string?][] = [
      [row.name, percent(row.clean)],
      [`adversarial, ${row.budget}`, percent(row.adversarialPrediction), row.success ? RED : GRAY],
      [`perturbation ×${options.amplify ?? 10}`, row.distance],
    ];
    [row.original, row.adversarial, row.perturbation].forEach((image, i) => {
      const box = boxes[i];
      images.push({ image: resizeImage(image, box.height, box.width), left: box.left, top: box.top });
      const [first, second, color] = titles[i];
      const x = box.left + box.width / 2;
      const common = { x, size: TITLE_SIZE, anchor: 'middle' as const, maxWidth: column };
      texts.push({ ...common, text: first, y: box.top - TITLES_HEIGHT + LINE - 4, color: GRAY });
      texts.push({ ...common, text: second, y: box.top - TITLES_HEIGHT + 2 * LINE - 2, bold: true, color });
    });
  });
  return renderCanvasPng({ width: layout.width, height: layout.height, images, texts });
}
