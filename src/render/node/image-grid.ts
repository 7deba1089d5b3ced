import { displaySize, resizeImage, type PixelImage } from '../pixel-image.js';
import type { TextItem } from '../svg-text.js';
import { renderCanvasPng, type FigureBox, type PlacedImage } from './canvas-png.js';

/** One picture of a grid, with an optional caption line under it and an optional colour bar beside it. */
export interface GridCell {
  image: PixelImage;
  caption?: string;
  bar?: GridColourBar;
}

/** A colour bar drawn right of its picture, as tall as it, with the values at its top and bottom. */
export interface GridColourBar {
  /** The bar (colorBar() in render/heatmap.ts), stretched to BAR_WIDTH x the picture's height. */
  image: PixelImage;
  top: string;
  bottom: string;
}

/** A labelled row of cells (e.g. one model), one cell per column. */
export interface GridRow {
  /** One line, or several separated by '\n' (e.g. input, model, variant). */
  label: string;
  cells: readonly GridCell[];
  /** Starts a new group of rows: a wider gap above it (ignored on the first row). */
  groupStart?: boolean;
}

export interface ImageGrid {
  /** First header line (bold). */
  title?: string;
  /** Second header line, e.g. how the pictures were made. */
  legend?: string;
  /** One label per column, drawn above it (e.g. class names). */
  columns: readonly string[];
  rows: readonly GridRow[];
  /**
   * Whole-number enlargement of the pictures (nearest neighbour, so pixels stay square); default: the
   * smallest that makes the longer side at least 96 px (32x32 CIFAR -> x3, 28x28 MNIST -> x4).
   */
  scale?: number;
}

export interface ImageGridLayout {
  width: number;
  height: number;
  /** Per row, per column: where the picture goes. */
  cells: FigureBox[][];
  /** Per row, per column: where the cell's colour bar goes, if it has one. */
  bars: (FigureBox | undefined)[][];
  /** Baseline of the column labels. */
  columnLabelY: number;
}

const MARGIN = 16;
const GAP = 8;
const ROW_GAP = 12;
const LABEL_SIZE = 13;
const LABEL_LINE = 16;
const CAPTION_SIZE = 11;
const CAPTION_LINE = 14;
const HEADER_SIZE = 15;
const HEADER_LINE = 22;
const CHAR_EM = 0.6;
const MIN_SIDE = 96;
const GRAY = '#555';
const GROUP_GAP = 16;
const BAR_GAP = 4;
const BAR_WIDTH = 8;
const BAR_LABEL_SIZE = 9;

function labelLines(label: string): string[] {
  return label.split('\n');
}

/** Room right of each picture for colour bars and their labels; 0 when no cell has a bar. */
function barRoom(rows: readonly GridRow[]): number {
  const labels = rows.flatMap((r) => r.cells.flatMap((c) => (c.bar ? [c.bar.top, c.bar.bottom] : [])));
  if (labels.length === 0) return 0;
  const chars = Math.max(...labels.map((l) => l.length));
  return BAR_GAP + BAR_WIDTH + 3 + Math.ceil(chars * BAR_LABEL_SIZE * CHAR_EM);
}

/** The grid's geometry: a row-label column on the left, column labels on top, captions under the cells. */
export function layoutImageGrid(grid: ImageGrid): ImageGridLayout {
  const first = grid.rows.find((r) => r.cells.length > 0)?.cells[0]?.image;
  const [h, w] =
    first === undefined
      ? [0, 0]
      : grid.scale !== undefined
        ? [first.height * grid.scale, first.width * grid.scale]
        : displaySize(first.height, first.width, { min: MIN_SIDE, max: Number.POSITIVE_INFINITY });
  const longest = Math.max(0, ...grid.rows.flatMap((r) => labelLines(r.label).map((l) => l.length)));
  const labelWidth = Math.ceil(longest * LABEL_SIZE * CHAR_EM);
  const room = barRoom(grid.rows);
  const pitch = w + room + GAP;
  const hasCaptions = grid.rows.some((r) => r.cells.some((c) => c.caption !== undefined));
  const headerLines = (grid.title === undefined ? 0 : 1) + (grid.legend === undefined ? 0 : 1);
  const columnLabelY = MARGIN + headerLines * HEADER_LINE + (headerLines > 0 ? 8 : 0) + LABEL_SIZE;
  const left = MARGIN + labelWidth + (labelWidth > 0 ? GAP * 2 : 0);
  const lineCount = Math.max(1, ...grid.rows.map((r) => labelLines(r.label).length));
  const rowHeight = Math.max(h, lineCount * LABEL_LINE) + (hasCaptions ? CAPTION_LINE + 4 : 0);
  let top = columnLabelY + 8;
  const columns = Math.max(grid.columns.length, ...grid.rows.map((r) => r.cells.length));
  const bars: (FigureBox | undefined)[][] = [];
  const cells = grid.rows.map((row, i) => {
    if (i > 0 && row.groupStart === true) top += GROUP_GAP;
    const boxes = row.cells.map((_, j) => ({ left: left + j * pitch, top, width: w, height: h }));
    bars.push(
      row.cells.map((cell, j) =>
        cell.bar === undefined
          ? undefined
          : { left: boxes[j].left + w + BAR_GAP, top, width: BAR_WIDTH, height: h },
      ),
    );
    top += rowHeight + ROW_GAP;
    return boxes;
  });
  const width = Math.max(left + columns * pitch - GAP + MARGIN, 320);
  return { width, height: top - ROW_GAP + MARGIN, cells, bars, columnLabelY };
}

/**
 * A labelled grid of small pictures: row labels on the left, column labels on top, a caption under each
 * picture, enlarged by a whole factor so that 32x32 images can be seen. Returns PNG bytes.
 */
export async function renderImageGrid(grid: ImageGrid): Promise<Buffer> {
  const layout = layoutImageGrid(grid);
  const texts: TextItem[] = [];
  const images: PlacedImage[] = [];
  let y = MARGIN + HEADER_SIZE;
  for (const [line, bold] of [
    [grid.title, true],
    [grid.legend, false],
  ] as const) {
    if (line === undefined) continue;
    const maxWidth = layout.width - 2 * MARGIN;
    texts.push({ text: line, x: MARGIN, y, size: HEADER_SIZE, bold, color: bold ? '#222' : GRAY, maxWidth });
    y += HEADER_LINE;
  }
  const columnBoxes = layout.cells.find((r) => r.length > 0) ?? [];
  const columnWidth = (columnBoxes[0]?.width ?? 0) + barRoom(grid.rows) + GAP;
  grid.columns.forEach((label, j) => {
    const box = columnBoxes[j];
    if (box === undefined) return;
    const x = box.left + box.width / 2;
    texts.push({
      text: label,
      x,
      y: layout.columnLabelY,
      size: LABEL_SIZE,
      bold: true,
      anchor: 'middle',
      maxWidth: columnWidth,
    });
  });
  grid.rows.forEach((row, i) => {
    const boxes = layout.cells[i];
    if (boxes.length > 0) {
      const lines = labelLines(row.label);
      const first =
        boxes[0].top + boxes[0].height / 2 + LABEL_SIZE / 3 - ((lines.length - 1) * LABEL_LINE) / 2;
      lines.forEach((line, k) =>
        texts.push({
          text: line,
          x: MARGIN,
          y: first + k * LABEL_LINE,
          size: LABEL_SIZE,
          bold: k === 0,
          color: k === 0 ? '#222' : GRAY,
          maxWidth: boxes[0].left - MARGIN,
        }),
      );
    }
    row.cells.forEach((cell, j) => {
      const box = boxes[j];
      images.push({ image: resizeImage(cell.image, box.height, box.width), left: box.left, top: box.top });
      const bar = layout.bars[i][j];
      if (cell.bar !== undefined && bar !== undefined) {
        images.push({
          image: resizeImage(cell.bar.image, bar.height, bar.width),
          left: bar.left,
          top: bar.top,
        });
        const x = bar.left + bar.width + 3;
        texts.push({ text: cell.bar.top, x, y: bar.top + BAR_LABEL_SIZE, size: BAR_LABEL_SIZE, color: GRAY });
        texts.push({ text: cell.bar.bottom, x, y: bar.top + bar.height, size: BAR_LABEL_SIZE, color: GRAY });
      }
      if (cell.caption === undefined) return;
      texts.push({
        text: cell.caption,
        x: box.left + box.width / 2,
        y: box.top + box.height + CAPTION_LINE,
        size: CAPTION_SIZE,
        color: GRAY,
        anchor: 'middle',
        maxWidth: box.width + GAP,
      });
    });
  });
  return renderCanvasPng({ width: layout.width, height: layout.height, images, texts });
}
