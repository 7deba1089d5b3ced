import { invalidArgument } from '../errors.js';
import type { PixelImage } from './pixel-image.js';

/**
 * Attribution maps as pictures (browser-safe): one importance value per pixel, scaled by a robust maximum,
 * coloured, laid over the input, with the colour bar that reads it. The same functions serve the CLI's PNGs
 * and a page's canvas.
 */

/** 'unsigned' maps run 0..1 (magnitudes, Grad-CAM); 'signed' maps run -1..1 (blue negative, red positive). */
export type HeatmapScale = 'unsigned' | 'signed';

/** How a pixel map's channels become one value per pixel: the sum of magnitudes, or the signed sum. */
export type ChannelReduction = 'abs-sum' | 'sum';

type Stop = readonly [number, number, number, number];

/** Black through purple, red and orange to pale yellow: dark is unimportant, bright is important. */
const UNSIGNED_STOPS: readonly Stop[] = [
  [0, 0, 0, 0],
  [0.25, 80, 18, 120],
  [0.5, 190, 40, 80],
  [0.75, 245, 130, 30],
  [1, 252, 250, 170],
];

/** Blue through white to red, white at zero. */
const SIGNED_STOPS: readonly Stop[] = [
  [0, 30, 70, 160],
  [0.25, 110, 160, 215],
  [0.5, 248, 248, 248],
  [0.75, 230, 120, 90],
  [1, 170, 20, 35],
];

/** The colour of t in [0, 1] on a piecewise-linear map. */
function colourAt(stops: readonly Stop[], t: number): [number, number, number] {
  const v = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  let i = 1;
  while (i < stops.length - 1 && stops[i][0] < v) i++;
  const [t0, r0, g0, b0] = stops[i - 1];
  const [t1, r1, g1, b1] = stops[i];
  const f = (v - t0) / (t1 - t0);
  return [r0 + f * (r1 - r0), g0 + f * (g1 - g0), b0 + f * (b1 - b0)].map(Math.round) as [
    number,
    number,
    number,
  ];
}

/** One value per pixel of an HWC map: `reduce` over the channels ([h, w] maps pass through). */
export function pixelImportance(
  values: ArrayLike<number>,
  [h, w, c]: readonly [number, number, number],
  reduce: ChannelReduction,
): Float32Array {
  if (values.length !== h * w * c) {
    throw invalidArgument(`pixelImportance: ${values.length} values do not make a ${h}x${w}x${c} map.`);
  }
  const out = new Float32Array(h * w);
  for (let p = 0; p < h * w; p++) {
    let s = 0;
    for (let k = 0; k < c; k++) {
      const v = values[p * c + k];
      s += reduce === 'abs-sum' ? Math.abs(v) : v;
    }
    out[p] = s;
  }
  return out;
}

/**
 * The map divided by the `percentile`-th percentile of its magnitudes and clipped to [-1, 1] (Captum's
 * visualization clips the top 2% the same way, so that a few extreme gradients do not wash out the rest).
 * An all-zero map stays zero. Returns the values and the scale (the magnitude shown as 1).
 */
export function normalizeMap(
  values: ArrayLike<number>,
  percentile = 99,
): { values: Float32Array; scale: number } {
  if (!(percentile > 0 && percentile <= 100)) {
    throw invalidArgument(`normalizeMap: percentile must be in (0, 100], got ${percentile}.`);
  }
  const magnitudes = Float32Array.from(values, Math.abs).sort();
  const at = Math.min(
    magnitudes.length - 1,
    Math.max(0, Math.ceil((percentile / 100) * magnitudes.length) - 1),
  );
  const scale =
    magnitudes.length === 0 ? 0 : magnitudes[at] > 0 ? magnitudes[at] : magnitudes[magnitudes.length - 1];
  const out = new Float32Array(values.length);
  if (scale > 0) for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(-1, values[i] / scale));
  return { values: out, scale };
}

/** An RGB picture of normalized values ([0, 1] unsigned, [-1, 1] signed), HW order. */
export function colorize(
  values: ArrayLike<number>,
  height: number,
  width: number,
  scale: HeatmapScale,
): PixelImage {
  if (values.length !== height * width) {
    throw invalidArgument(`colorize: ${values.length} values do not make a ${height}x${width} map.`);
  }
  const stops = scale === 'signed' ? SIGNED_STOPS : UNSIGNED_STOPS;
  const data = new Uint8Array(height * width * 3);
  for (let p = 0; p < values.length; p++) {
    const t = scale === 'signed' ? (values[p] + 1) / 2 : values[p];
    data.set(colourAt(stops, t), p * 3);
  }
  return { data, height, width, channels: 3 };
}

/**
 * The heatmap laid over the input: the input in grey (so its colours do not read as attribution), blended
 * with the heatmap at `alpha`. Both pictures must have the same size.
 */
export function overlayHeatmap(base: PixelImage, heat: PixelImage, alpha = 0.6): PixelImage {
  if (base.height !== heat.height || base.width !== heat.width || heat.channels !== 3) {
    throw invalidArgument(
      `overlayHeatmap: the heatmap (${heat.height}x${heat.width}x${heat.channels}) must be RGB and the size of ` +
        `the image (${base.height}x${base.width}).`,
    );
  }
  if (!(alpha >= 0 && alpha <= 1))
    throw invalidArgument(`overlayHeatmap: alpha must be in [0, 1], got ${alpha}.`);
  const n = base.height * base.width;
  const data = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    const grey =
      base.channels === 1
        ? base.data[p]
        : 0.299 * base.data[p * 3] + 0.587 * base.data[p * 3 + 1] + 0.114 * base.data[p * 3 + 2];
    for (let k = 0; k < 3; k++)
      data[p * 3 + k] = Math.round((1 - alpha) * grey + alpha * heat.data[p * 3 + k]);
  }
  return { data, height: base.height, width: base.width, channels: 3 };
}

/** A vertical colour bar, top = the largest value (1), bottom = the smallest (0 unsigned, -1 signed). */
export function colorBar(scale: HeatmapScale, height: number, width: number): PixelImage {
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 1 && width > 0)) {
    throw invalidArgument(
      `colorBar: height > 1 and width > 0 must be whole numbers, got ${height}x${width}.`,
    );
  }
  const values = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    const t = 1 - y / (height - 1);
    values.fill(scale === 'signed' ? 2 * t - 1 : t, y * width, (y + 1) * width);
  }
  return colorize(values, height, width, scale);
}
