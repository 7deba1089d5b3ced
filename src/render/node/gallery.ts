import { displaySize, resizeImage, type PixelImage } from '../pixel-image.js';
import type { TextItem } from '../svg-text.js';
import { renderCanvasPng, type FigureBox, type PlacedImage } from './canvas-png.js';

/** One attacked example: three small panels side by side and a two-line caption under them. */
export interface GalleryCell {
  original: PixelImage;
  adversarial: PixelImage;
  perturbation: PixelImage;
  /** First caption line, e.g. '7 → 3'. */
  caption: string;
  /** Second caption line, e.g. 'L2 1.42'. */
  detail: string;
  /** The attack's goal was met (caption drawn in red). */
  success: boolean;
}

/** A block of cells under a heading, e.g. one budget of a robustness curve. */
export interface GallerySection {
  title: string;
  cells: readonly GalleryCell[];
}

export interface GalleryOptions {
  /** First header line (bold). */
  title?: string;
  /** Second header line, e.g. what a cell shows. */
  legend?: string;
  /** The widest the picture may grow; cells wrap into rows to stay inside it (default 1400). */
  maxWidth?: number;
}

export interface GalleryLayout {
  width: number;
  height: number;
  /** Per section, per cell: the three panel boxes. */
  cells: [FigureBox, FigureBox, FigureBox][][];
  /** Baseline of each section's heading. */
  headings: number[];
}

const MARGIN = 16;
const PANEL_GAP = 3;
const CELL_GAP = 14;
const CAPTION_SIZE = 12;
const CAPTION_LINE = 15;
const HEADER_SIZE = 15;
const HEADER_LINE = 22;
const SECTION_GAP = 18;
/** 28x28 digits are drawn 3x (84 px); photos shrunk to 112 px. */
const PANEL_MIN = 84;
const PANEL_MAX = 112;
const RED = '#c62828';
const GRAY = '#555';

export function layoutGallery(
  sections: readonly GallerySection[],
  options: GalleryOptions = {},
): GalleryLayout {
  const maxWidth = options.maxWidth ?? 1400;
  const first = sections.find((s) => s.cells.length > 0)?.cells[0]?.original;
  const [ph, pw] = first
    ? displaySize(first.height, first.width, { min: PANEL_MIN, max: PANEL_MAX })
    : [0, 0];
  const cellWidth = 3 * pw + 2 * PANEL_GAP;
  const cellHeight = ph + 4 + 2 * CAPTION_LINE;
  const most = Math.max(1, ...sections.map((s) => s.cells.length));
  const perRow = Math.max(
    1,
    Math.min(most, Math.floor((maxWidth - 2 * MARGIN + CELL_GAP) / (cellWidth + CELL_GAP))),
  );
  const headerLines = (options.title === undefined ? 0 : 1) + (options.legend === undefined ? 0 : 1);
  let top = MARGIN + headerLines * HEADER_LINE + (headerLines > 0 ? SECTION_GAP / 2 : 0);
  const cells: GalleryLayout['cells'] = [];
  const headings: number[] = [];
  for (const section of sections) {
    headings.push(top + HEADER_SIZE);
    top += HEADER_LINE + 6;
    cells.push(
      section.cells.map((_, i) => {
        const left = MARGIN + (i % perRow) * (cellWidth + CELL_GAP);
        const cellTop = top + Math.floor(i / perRow) * (cellHeight + CELL_GAP);
        const box = (k: number): FigureBox => ({
          left: left + k * (pw + PANEL_GAP),
          top: cellTop,
          width: pw,
          height: ph,
        });
        return [box(0), box(1), box(2)];
      }),
    );
    const rows = Math.ceil(section.cells.length / perRow);
    top += rows * cellHeight + Math.max(0, rows - 1) * CELL_GAP + SECTION_GAP;
  }
  const width = Math.max(2 * MARGIN + perRow * cellWidth + (perRow - 1) * CELL_GAP, 480);
  return { width, height: top - SECTION_GAP + MARGIN, cells, headings };
}

/**
 * A compact gallery: per section a heading and a grid of cells (original | adversarial | perturbation, with
 * the predictions under them). Returns PNG bytes.
 */
export async function renderGallery(
  sections: readonly GallerySection[],
  options: GalleryOptions = {},
): Promise<Buffer> {
  const layout = layoutGallery(sections, options);
  const textWidth = layout.width - 2 * MARGIN;
  const texts: TextItem[] = [];
  const images: PlacedImage[] = [];
  let y = MARGIN + HEADER_SIZE;
  for (const [line, bold] of [
    [options.title, true],
    [options.legend, false],
  ] as const) {
    if (line === undefined) continue;
    texts.push({
      text: line,
      x: MARGIN,
      y,
      size: HEADER_SIZE,
      bold,
      color: bold ? '#222' : GRAY,
      maxWidth: textWidth,
    });
    y += HEADER_LINE;
  }
  sections.forEach((section, s) => {
    texts.push({
      text: section.title,
      x: MARGIN,
      y: layout.headings[s],
      size: HEADER_SIZE,
      bold: true,
      maxWidth: textWidth,
    });
    section.cells.forEach((cell, i) => {
      const boxes = layout.cells[s][i];
      [cell.original, cell.adversarial, cell.perturbation].forEach((image, k) => {
        const box = boxes[k];
        images.push({ image: resizeImage(image, box.height, box.width), left: box.left, top: box.top });
      });
      const x = boxes[1].left + boxes[1].width / 2;
      const width = boxes[2].left + boxes[2].width - boxes[0].left;
      const below = boxes[0].top + boxes[0].height;
      const common = { x, size: CAPTION_SIZE, anchor: 'middle' as const, maxWidth: width };
      texts.push({
        ...common,
        text: cell.caption,
        y: below + CAPTION_LINE,
        bold: true,
        color: cell.success ? RED : '#222',
      });
      texts.push({ ...common, text: cell.detail, y: below + 2 * CAPTION_LINE, color: GRAY });
    });
  });
  return renderCanvasPng({ width: layout.width, height: layout.height, images, texts });
}
