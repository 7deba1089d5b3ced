import { invalidArgument } from '../../errors.js';
import {
  colorBar,
  colorize,
  normalizeMap,
  overlayHeatmap,
  pixelImportance,
  type ChannelReduction,
  type HeatmapScale,
} from '../heatmap.js';
import type { PixelImage } from '../pixel-image.js';
import { renderImageGrid, type GridCell, type GridRow } from './image-grid.js';

/** How one method's maps are drawn: how channels become one value per pixel, and which colour scale. */
export interface MapDisplay {
  reduce: ChannelReduction;
  scale: HeatmapScale;
  /** The percentile of the magnitudes shown as the top of the bar (larger values saturate). */
  percentile: number;
}

/**
 * How a method's map reads best. Gradients and SmoothGrad: magnitudes summed over the channels (their sign
 * says little per pixel; Simonyan et al. show magnitudes), 99th percentile so a few extreme gradients do not
 * wash out the rest. Gradient x input and IG: signed contributions summed over the channels (red for, blue
 * against). Grad-CAM: its [0, 1] map (signed when run without the ReLU). Occlusion: signed logit drops. Any
 * other method: magnitudes for pixel maps, signed for spatial maps.
 */
export function mapDisplay(
  method: string,
  output: 'pixel' | 'spatial',
  params: Readonly<Record<string, unknown>> = {},
): MapDisplay {
  switch (method) {
    case 'saliency':
    case 'smoothgrad':
      return { reduce: 'abs-sum', scale: 'unsigned', percentile: 99 };
    case 'smoothgrad-sq':
      return { reduce: 'sum', scale: 'unsigned', percentile: 99 };
    case 'gradient-x-input':
    case 'ig':
      return { reduce: 'sum', scale: 'signed', percentile: 99 };
    case 'gradcam':
      return { reduce: 'sum', scale: params.relu === false ? 'signed' : 'unsigned', percentile: 100 };
    case 'occlusion':
      return { reduce: 'sum', scale: 'signed', percentile: 100 };
    default:
      return output === 'pixel'
        ? { reduce: 'abs-sum', scale: 'unsigned', percentile: 99 }
        : { reduce: 'sum', scale: 'signed', percentile: 100 };
  }
}

/** One attribution map of one input, raw as the method returned it. */
export interface ExplainGridMap {
  /** HWC values ([h, w, c]) for pixel maps, HW values for spatial maps (channels 1). */
  values: ArrayLike<number>;
  channels: number;
  display: MapDisplay;
  /** A line under the map, e.g. the class explained. */
  caption?: string;
}

/** One input (clean, adversarial or patched, under one model): the input, then a map per method. */
export interface ExplainGridRow {
  /** Lines separated by '\n': the input, the model, the variant. */
  label: string;
  /** Starts a new input: a wider gap above. */
  groupStart?: boolean;
  image: PixelImage;
  /** Under the input: the prediction and its confidence. */
  caption: string;
  /** One per method column, in the order of `methods`. */
  maps: readonly ExplainGridMap[];
}

export interface ExplainGrid {
  title: string;
  legend?: string;
  /** The method columns' labels, after the input column. */
  methods: readonly string[];
  /** Label of the input column (default 'input'). */
  inputColumn?: string;
  rows: readonly ExplainGridRow[];
}

const BAR_HEIGHT = 64;

/** A bar label: 2 significant digits, in exponent form for small or large values so it stays short. */
function barValue(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 0.01 && a < 1000 ? String(Number(v.toPrecision(2))) : v.toExponential(1).replace('e+', 'e');
}

/** The heatmap of one map laid over its (grey) input, with its colour bar. */
export function heatmapCell(image: PixelImage, map: ExplainGridMap): GridCell {
  const { height: h, width: w } = image;
  if (map.values.length !== h * w * map.channels) {
    throw invalidArgument(
      `explain grid: a map of ${map.values.length} values does not fit a ${h}x${w} input with ${map.channels} channel(s).`,
    );
  }
  const { display } = map;
  const perPixel =
    map.channels === 1 ? map.values : pixelImportance(map.values, [h, w, map.channels], display.reduce);
  const shown =
    display.reduce === 'abs-sum' && map.channels === 1 ? Float32Array.from(perPixel, Math.abs) : perPixel;
  const { values, scale } = normalizeMap(shown, display.percentile);
  const heat = colorize(
    display.scale === 'unsigned' ? values.map((v) => Math.max(0, v)) : values,
    h,
    w,
    display.scale,
  );
  return {
    image: overlayHeatmap(image, heat),
    ...(map.caption !== undefined ? { caption: map.caption } : {}),
    bar: {
      image: colorBar(display.scale, BAR_HEIGHT, 1),
      top: barValue(scale),
      bottom: display.scale === 'signed' ? barValue(-scale) : '0',
    },
  };
}

/**
 * The explain picture: a row per input (and per adversarial or patched input, each right under its clean
 * input, and per model), a column for the input titled with the prediction and confidence, and a column per
 * method: the map as a heatmap over the input in grey, with a colour bar whose top is the value shown at full
 * colour. Returns PNG bytes.
 */
export async function renderExplainGrid(grid: ExplainGrid): Promise<Buffer> {
  const rows: GridRow[] = grid.rows.map((row) => {
    if (row.maps.length !== grid.methods.length) {
      throw invalidArgument(
        `explain grid: a row has ${row.maps.length} maps for ${grid.methods.length} method columns.`,
      );
    }
    return {
      label: row.label,
      ...(row.groupStart === true ? { groupStart: true } : {}),
      cells: [{ image: row.image, caption: row.caption }, ...row.maps.map((m) => heatmapCell(row.image, m))],
    };
  });
  return renderImageGrid({
    title: grid.title,
    ...(grid.legend !== undefined ? { legend: grid.legend } : {}),
    columns: [grid.inputColumn ?? 'input', ...grid.methods],
    rows,
  });
}
