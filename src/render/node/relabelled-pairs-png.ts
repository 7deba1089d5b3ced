import { resizeImage, type PixelImage } from '../pixel-image.js';
import type { TextItem } from '../svg-text.js';
import { renderCanvasPng, type PlacedImage } from './canvas-png.js';

/** One training pair of a relabelled dataset: the image as trained on, the class it shows, the label it got. */
export interface RelabelledPair {
  image: PixelImage;
  /** The class a person sees (the image's true class). */
  shows: string;
  /** The label it is trained with. */
  label: string;
}

/** A row of pairs under a heading, e.g. one relabelled dataset. */
export interface RelabelledPairRow {
  heading: string;
  pairs: readonly RelabelledPair[];
}

export interface RelabelledPairsOptions {
  /** First header line (bold). */
  title?: string;
  /** Second header line (gray). */
  legend?: string;
  /** Whole-number enlargement of each image (default 2: 32x32 CIFAR images drawn 64x64). */
  scale?: number;
}

const MARGIN = 14;
const GAP = 10;
const CAPTION = 11;
const CAPTION_LINE = 14;
const HEADER = 14;
const HEADER_LINE = 20;
/** A cell is at least this wide, so that 'automobile' fits under a 64-pixel image. */
const MIN_CELL = 76;

/**
 * Training pairs of an adversarially relabelled dataset as one PNG: per row a heading and the images, each with
 * 'cat' (what it shows, gray) over '→ airplane' (its training label, bold) under it. Exact pixels, enlarged by
 * nearest neighbour; the caller writes the bytes.
 */
export async function renderRelabelledPairs(
  rows: readonly RelabelledPairRow[],
  options: RelabelledPairsOptions = {},
): Promise<Buffer> {
  const scale = options.scale ?? 2;
  const first = rows.find((r) => r.pairs.length > 0)?.pairs[0]?.image;
  const side = first === undefined ? 0 : Math.max(first.height, first.width) * scale;
  const cell = Math.max(side, MIN_CELL);
  const most = Math.max(1, ...rows.map((r) => r.pairs.length));
  const width = Math.max(2 * MARGIN + most * cell + (most - 1) * GAP, 360);
  const texts: TextItem[] = [];
  const images: PlacedImage[] = [];
  let y = MARGIN;
  for (const [line, bold] of [
    [options.title, true],
    [options.legend, false],
  ] as const) {
    if (line === undefined) continue;
    texts.push({
      text: line,
      x: MARGIN,
      y: y + HEADER,
      size: HEADER,
      bold,
      color: bold ? '#222' : '#555',
      maxWidth: width - 2 * MARGIN,
    });
    y += HEADER_LINE;
  }
  for (const row of rows) {
    y += 6;
    texts.push({
      text: row.heading,
      x: MARGIN,
      y: y + HEADER,
      size: HEADER - 1,
      bold: true,
      maxWidth: width - 2 * MARGIN,
    });
    y += HEADER_LINE;
    row.pairs.forEach((pair, i) => {
      const left = MARGIN + i * (cell + GAP);
      const image = resizeImage(pair.image, pair.image.height * scale, pair.image.width * scale);
      images.push({ image, left: left + Math.floor((cell - image.width) / 2), top: y });
      const centre = left + cell / 2;
      const caption = { x: centre, size: CAPTION, anchor: 'middle' as const, maxWidth: cell + GAP - 2 };
      texts.push({ ...caption, text: pair.shows, y: y + side + CAPTION_LINE, color: '#555' });
      texts.push({
        ...caption,
        text: `→ ${pair.label}`,
        y: y + side + 2 * CAPTION_LINE,
        bold: true,
        color: '#c62828',
      });
    });
    y += side + 2 * CAPTION_LINE + 6;
  }
  return renderCanvasPng({ width, height: y + MARGIN, images, texts });
}
