import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmOps } from './wasm-ops.js';

type Pair = [number, number];

/**
 * The input gradient of a convolution is a transposed convolution of dy. This computes it as a stride-1 forward
 * convolution, so that it runs on the backend's fast XNNPACK kernel: dy is dilated by the stride (zeros
 * inserted between its rows and columns), padded so that every input position sees the whole filter, and
 * convolved with the spatially flipped filter at the forward dilation (Dumoulin & Visin 2016, "A guide to
 * convolution arithmetic for deep learning", section 4). The caller supplies the flipped filter in the layout the
 * convolution expects (in/out channels swapped for a full convolution, unchanged for a depthwise one).
 */
export function inputGradViaForwardConv(
  ops: WasmOps,
  dy: TensorInfo,
  flippedFilter: TensorInfo,
  info: backend_util.Conv2DInfo,
  depthwise: boolean,
): TensorInfo {
  const owned: TensorInfo[] = [];
  let src = dy;
  const [batch, outH, outW, channels] = dy.shape;
  const { strideHeight: sh, strideWidth: sw } = info;
  if (sh > 1 || sw > 1) {
    // Zero insertion: [N, OH, 1, OW, 1, C] padded to [N, OH, sh, OW, sw, C] is dy dilated by the stride, plus
    // (stride - 1) trailing zero rows/columns that the padding arithmetic below accounts for.
    const r6 = ops.reshape(dy, [batch, outH, 1, outW, 1, channels]);
    const padded = ops.pad(r6, [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]);
    src = ops.reshape(padded, [batch, outH * sh, outW * sw, channels]);
    ops.dispose(r6, padded);
    owned.push(src);
  }
  const rows = padsFor(info.inHeight, src.shape[1], info.filterHeight, info.dilationHeight, info.padInfo.top);
  const cols = padsFor(info.inWidth, src.shape[2], info.filterWidth, info.dilationWidth, info.padInfo.left);
  if (rows.crop[0] + rows.crop[1] + cols.crop[0] + cols.crop[1] > 0) {
    // Padding larger than the (dilated) filter: those dy rows only ever touched padding, so drop them.
    const cropped = ops.slice(
      src,
      [0, rows.crop[0], cols.crop[0], 0],
      [
        batch,
        src.shape[1] - rows.crop[0] - rows.crop[1],
        src.shape[2] - cols.crop[0] - cols.crop[1],
        channels,
      ],
    );
    owned.push(cropped);
    src = cropped;
  }
  const dilations: Pair = [info.dilationHeight, info.dilationWidth];
  const out = depthwise
    ? ops.depthwiseConv2d(src, flippedFilter, dilations, [rows.pad, cols.pad])
    : ops.conv2d(src, flippedFilter, [1, 1], dilations, [rows.pad, cols.pad]);
  ops.dispose(...owned);
  return out;
}

/**
 * Padding of a length-`srcLen` (already stride-dilated) dy so that a 'valid' stride-1 convolution with a filter of
 * `filterLen` taps at dilation `dilation` yields `inLen` outputs; negative padding becomes a crop.
 */
function padsFor(
  inLen: number,
  srcLen: number,
  filterLen: number,
  dilation: number,
  forwardPadBefore: number,
): { pad: Pair; crop: Pair } {
  const before = (filterLen - 1) * dilation - forwardPadBefore;
  const after = inLen + (filterLen - 1) * dilation - before - srcLen;
  return {
    pad: [Math.max(0, before), Math.max(0, after)],
    crop: [Math.max(0, -before), Math.max(0, -after)],
  };
}

/**
 * col2im: scatter-add the columns `cols` [N*OH*OW, KH*KW*C] (each row holds one output position's contribution
 * to its receptive field) into `out` [N, H, W, C], which must start zeroed. Handles any stride, dilation and
 * padding; out-of-image taps (padding) are skipped.
 */
export function col2imAdd(out: Float32Array, cols: Float32Array, info: backend_util.Conv2DInfo): void {
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const tapsPerRow = KW * C;
  const colsPerPos = KH * tapsPerRow;
  let colBase = 0;
  for (let n = 0; n < batchSize; n++) {
    const imageBase = n * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * sh - top;
      for (let ow = 0; ow < OW; ow++, colBase += colsPerPos) {
        const w0 = ow * sw - left;
        // taps kw with 0 <= w0 + kw*dw < W
        const kwLo = w0 < 0 ? Math.ceil(-w0 / dw) : 0;
        const kwHi = Math.min(KW, Math.ceil((W - w0) / dw));
        if (kwHi <= kwLo) continue;
        for (let kh = 0; kh < KH; kh++) {
          const h = h0 + kh * dh;
          if (h < 0 || h >= H) continue;
          let ci = colBase + kh * tapsPerRow + kwLo * C;
          if (dw === 1) {
            let oi = imageBase + (h * W + w0 + kwLo) * C;
            const end = ci + (kwHi - kwLo) * C;
            while (ci < end) out[oi++] += cols[ci++];
          } else {
            for (let kw = kwLo; kw < kwHi; kw++) {
              let oi = imageBase + (h * W + w0 + kw * dw) * C;
              for (let c = 0; c < C; c++) out[oi++] += cols[ci++];
            }
          }
        }
      }
    }
  }
}
