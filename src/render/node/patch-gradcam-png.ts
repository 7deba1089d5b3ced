import { invalidArgument } from '../../errors.js';
import { colorize, overlayHeatmap } from '../heatmap.js';
import { resizeImage, toRgb, type PixelImage } from '../pixel-image.js';
import { renderImageGrid, type GridCell } from './image-grid.js';

/** One photo of the patch-gradcam picture: the photo and the patched photo, and three Grad-CAM maps of them. */
export interface PatchGradcamRow {
  label: string;
  clean: PixelImage;
  patched: PixelImage;
  /** [h * w] in [0, 1] at the photo's size: of the clean photo's prediction on the clean photo... */
  camBefore: ArrayLike<number>;
  /** ...of the patched photo's prediction on the patched photo... */
  camAfter: ArrayLike<number>;
  /** ...and of the clean photo's prediction on the patched photo. */
  camAfterOriginal: ArrayLike<number>;
  /** Caption per column: predictions under the photos, the patch region's share under the maps. */
  captions: readonly [string, string, string, string, string];
}

export interface PatchGradcamFigure {
  title: string;
  legend: string;
  /** [h * w]: how much of each pixel the patch covers (0..1); outlined on the maps. */
  region: ArrayLike<number>;
  /** Side of each picture in the figure (default 160). */
  side?: number;
}

export const PATCH_GRADCAM_COLUMNS = [
  'photo',
  'Grad-CAM before',
  'patched photo',
  'Grad-CAM after',
  'after, old class',
] as const;

const OUTLINE: readonly [number, number, number] = [0, 220, 255];

/** The region's boundary at the given size: pixels inside whose 4-neighbourhood reaches outside. */
function outlineOf(
  region: ArrayLike<number>,
  h: number,
  w: number,
  height: number,
  width: number,
): Uint8Array {
  const mask = resizeImage(
    { data: Uint8Array.from(region, (v) => Math.round(255 * v)), height: h, width: w, channels: 1 },
    height,
    width,
  );
  const inside = (y: number, x: number): boolean =>
    y >= 0 && x >= 0 && y < height && x < width && mask.data[y * width + x] >= 128;
  const edge = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!inside(y, x)) continue;
      if (!inside(y - 1, x) || !inside(y + 1, x) || !inside(y, x - 1) || !inside(y, x + 1)) {
        edge[y * width + x] = 1;
      }
    }
  }
  return edge;
}

function withOutline(img: PixelImage, edge: Uint8Array): PixelImage {
  const data = img.data.slice();
  for (let p = 0; p < edge.length; p++) if (edge[p] === 1) data.set(OUTLINE, p * 3);
  return { ...img, data };
}

/**
 * The patch-gradcam picture (render/node/image-grid under the hood): one row per photo with the photo, its
 * Grad-CAM, the patched photo, the patched photo's Grad-CAM of its new prediction and of the clean prediction,
 * each map laid over the grey photo it explains (render/heatmap) with the patch region outlined, and the
 * captions under them. Returns PNG bytes.
 */
export async function renderPatchGradcam(
  rows: readonly PatchGradcamRow[],
  figure: PatchGradcamFigure,
): Promise<Buffer> {
  const side = figure.side ?? 160;
  const first = rows[0]?.clean;
  if (first === undefined) throw invalidArgument('renderPatchGradcam: there are no rows to draw.');
  const { height: h, width: w } = first;
  if (figure.region.length !== h * w) {
    throw invalidArgument(
      `renderPatchGradcam: the region has ${figure.region.length} values for ${h}x${w} photos.`,
    );
  }
  const edge = outlineOf(figure.region, h, w, side, side);
  const shown = (img: PixelImage): PixelImage => resizeImage(toRgb(img), side, side);
  const map = (base: PixelImage, cam: ArrayLike<number>): PixelImage =>
    withOutline(shown(overlayHeatmap(base, colorize(cam, h, w, 'unsigned'))), edge);
  return renderImageGrid({
    title: figure.title,
    legend: figure.legend,
    columns: [...PATCH_GRADCAM_COLUMNS],
    scale: 1,
    rows: rows.map((r) => {
      const images = [
        shown(r.clean),
        map(r.clean, r.camBefore),
        shown(r.patched),
        map(r.patched, r.camAfter),
        map(r.patched, r.camAfterOriginal),
      ];
      const cells: GridCell[] = images.map((image, j) => ({ image, caption: r.captions[j] }));
      return { label: r.label, cells };
    }),
  });
}
