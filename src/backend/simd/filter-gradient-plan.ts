import { TASK_BYTES } from './filter-gradient-module.js';

/** What the filter-gradient plan needs to know about a conv2d (NHWC, filter [KH, KW, Cin, Cout]). */
export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
}

export interface FilterGradientPlan {
  /** TASK_BYTES / 4 int32 per task: x offset, dy offset, dW offset (bytes from each base), rows, columns. */
  table: Int32Array;
  tasks: number;
  /** cumulativePixels[t]: pixels (multiply-accumulate rows) in tasks [0, t); length tasks + 1. */
  cumulativePixels: Float64Array;
}

/**
 * Bytes of x and dy per band of output rows: a band is read again by every filter tap and channel tile, so it
 * should stay in the 32 KB L1 cache (halo rows come on top). Measured on the CIFAR and ResNet layers: 16-32 KB
 * bands ran at 30-33 GFLOP/s on one thread, 48 KB bands 5-25% slower.
 */
const BAND_BYTES = 24 * 1024;
/**
 * ...but not fewer output pixels than this, or each register tile's set-up and its pass into dW weigh too much:
 * on ResNet's 16x16x128 -> 8x8x256 stride-2 layer, 32-pixel bands ran 10% faster than the 8 pixels the byte
 * budget allows, with no change elsewhere; 64 was slower on the 32x32x64 stride-2 layer.
 */
const MIN_BAND_PIXELS = 32;

/**
 * The reduction over output pixels cut into tasks: for each image, bands of output rows, and within a band each
 * filter tap, clipped to the output pixels whose input pixel lies inside the image (the rest would multiply
 * padding zeros). Tasks of one band are consecutive so that its x and dy stay in cache.
 */
export function planFilterGradient(g: ConvGeometry): FilterGradientPlan {
  const rowBytes = 4 * (g.strideHeight * g.inWidth * g.inChannels + g.outWidth * g.outChannels);
  const rowsForBytes = Math.round(BAND_BYTES / rowBytes);
  const rowsForPixels = Math.ceil(MIN_BAND_PIXELS / g.outWidth);
  const bandRows = Math.max(1, Math.min(g.outHeight, Math.max(rowsForBytes, rowsForPixels)));
  const rowRanges = Array.from({ length: g.filterHeight }, (_, kh) =>
    validRange(kh * g.dilationHeight - g.padTop, g.strideHeight, g.inHeight, g.outHeight),
  );
  const colRanges = Array.from({ length: g.filterWidth }, (_, kw) =>
    validRange(kw * g.dilationWidth - g.padLeft, g.strideWidth, g.inWidth, g.outWidth),
  );
  const fields = TASK_BYTES / 4;
  const maxTasks = g.batch * Math.ceil(g.outHeight / bandRows) * g.filterHeight * g.filterWidth;
  const table = new Int32Array(maxTasks * fields);
  const cumulative = new Float64Array(maxTasks + 1);
  let t = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let r0 = 0; r0 < g.outHeight; r0 += bandRows) {
      const r1 = Math.min(g.outHeight, r0 + bandRows);
      for (let kh = 0; kh < g.filterHeight; kh++) {
        const oh0 = Math.max(r0, rowRanges[kh][0]);
        const oh1 = Math.min(r1, rowRanges[kh][1]);
        if (oh1 <= oh0) continue;
        for (let kw = 0; kw < g.filterWidth; kw++) {
          const [ow0, ow1] = colRanges[kw];
          if (ow1 <= ow0) continue;
          const ih = oh0 * g.strideHeight + kh * g.dilationHeight - g.padTop;
          const iw = ow0 * g.strideWidth + kw * g.dilationWidth - g.padLeft;
          const e = t * fields;
          table[e] = 4 * ((n * g.inHeight + ih) * g.inWidth + iw) * g.inChannels;
          table[e + 1] = 4 * ((n * g.outHeight + oh0) * g.outWidth + ow0) * g.outChannels;
          table[e + 2] = 4 * (kh * g.filterWidth + kw) * g.inChannels * g.outChannels;
          table[e + 3] = oh1 - oh0;
          table[e + 4] = ow1 - ow0;
          cumulative[t + 1] = cumulative[t] + (oh1 - oh0) * (ow1 - ow0);
          t++;
        }
      }
    }
  }
  return { table: table.subarray(0, t * fields), tasks: t, cumulativePixels: cumulative.subarray(0, t + 1) };
}

/**
 * Output positions o in [lo, hi) whose input position o*stride + offset lies in [0, size), within [0, outSize).
 */
function validRange(offset: number, stride: number, size: number, outSize: number): [number, number] {
  const lo = Math.max(0, Math.ceil(-offset / stride));
  const hi = Math.min(outSize, Math.floor((size - 1 - offset) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/** Task boundaries [0, b1, ..., tasks] giving `parts` ranges of about equal pixel work. */
export function splitTasks(plan: FilterGradientPlan, parts: number): number[] {
  const total = plan.cumulativePixels[plan.tasks];
  const bounds = [0];
  let t = 0;
  for (let p = 1; p < parts; p++) {
    const goal = (total * p) / parts;
    while (t < plan.tasks && plan.cumulativePixels[t] < goal) t++;
    bounds.push(t);
  }
  bounds.push(plan.tasks);
  return bounds;
}
