import { backend_util, type KernelFunc } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { input, poolInfo } from './kernel-attrs.js';
import { WasmOps, type StockKernels } from './wasm-ops.js';

/**
 * MaxPool gradient: dy of each window goes to the window's first maximum (row-major scan, NaN never wins), the
 * same rule as the cpu backend. One pass over x on the wasm heap; overlapping windows accumulate.
 */
export function makeMaxPoolGrad(stock: StockKernels): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const ops = new WasmOps(backend as BackendWasm, stock);
    const dy = input('MaxPoolGrad', inputs, 'dy');
    const x = input('MaxPoolGrad', inputs, 'input');
    const info = poolInfo('MaxPoolGrad', x.shape, attrs);
    const out = ops.zeros(x.shape);
    if (isPlain2x2(info)) maxPool2x2Scatter(ops.heap(out), ops.heap(x), ops.heap(dy), info);
    else maxPoolScatter(ops.heap(out), ops.heap(x), ops.heap(dy), info);
    return out;
  };
}

function maxPoolScatter(
  dx: Float32Array,
  x: Float32Array,
  dy: Float32Array,
  info: backend_util.Conv2DInfo,
): void {
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { effectiveFilterHeight: fh, effectiveFilterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const best = new Float32Array(C);
  const where = new Int32Array(C);
  let dyIndex = 0;
  for (let n = 0; n < batchSize; n++) {
    const imageBase = n * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * sh - top;
      const hLo = Math.max(0, h0);
      const hHi = Math.min(H, h0 + fh);
      for (let ow = 0; ow < OW; ow++, dyIndex += C) {
        const w0 = ow * sw - left;
        const wLo = Math.max(0, w0);
        const wHi = Math.min(W, w0 + fw);
        best.fill(-Infinity);
        where.fill(-1);
        for (let h = hLo; h < hHi; h++) {
          for (let w = wLo; w < wHi; w++) {
            const base = imageBase + (h * W + w) * C;
            for (let c = 0; c < C; c++) {
              const v = x[base + c];
              if (v > best[c]) {
                best[c] = v;
                where[c] = base + c;
              }
            }
          }
        }
        for (let c = 0; c < C; c++) {
          const at = where[c];
          if (at >= 0) dx[at] += dy[dyIndex + c];
        }
      }
    }
  }
}

/** 2x2 windows at stride 2 without padding: the usual max pooling, worth a loop without window bookkeeping. */
function isPlain2x2(info: backend_util.Conv2DInfo): boolean {
  const { filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
  const square = filterHeight === 2 && filterWidth === 2 && strideHeight === 2 && strideWidth === 2;
  const unpadded = padInfo.top + padInfo.bottom + padInfo.left + padInfo.right === 0;
  return square && unpadded && info.dilationHeight === 1 && info.dilationWidth === 1;
}

function maxPool2x2Scatter(
  dx: Float32Array,
  x: Float32Array,
  dy: Float32Array,
  info: backend_util.Conv2DInfo,
): void {
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const row = W * C;
  let d = 0;
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < OH; oh++) {
      let b00 = (n * H + 2 * oh) * row;
      for (let ow = 0; ow < OW; ow++, b00 += 2 * C) {
        const b01 = b00 + C;
        const b10 = b00 + row;
        const b11 = b10 + C;
        for (let c = 0; c < C; c++, d++) {
          // first maximum in row-major order; NaN never wins (as the cpu backend)
          let best = -Infinity;
          let at = -1;
          if (x[b00 + c] > best) {
            best = x[b00 + c];
            at = b00;
          }
          if (x[b01 + c] > best) {
            best = x[b01 + c];
            at = b01;
          }
          if (x[b10 + c] > best) {
            best = x[b10 + c];
            at = b10;
          }
          if (x[b11 + c] > best) at = b11;
          if (at >= 0) dx[at + c] = dy[d];
        }
      }
    }
  }
}

/**
 * AvgPool gradient: each window spreads dy / (filter area) over its in-image positions, the same rule as the cpu
 * backend (which divides by the full filter area even where a 'same' window overlaps the padding).
 */
export function makeAvgPoolGrad(stock: StockKernels): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const ops = new WasmOps(backend as BackendWasm, stock);
    const dy = input('AvgPoolGrad', inputs, 'dy');
    const x = input('AvgPoolGrad', inputs, 'input');
    const info = poolInfo('AvgPoolGrad', x.shape, attrs);
    const out = ops.zeros(x.shape);
    avgPoolScatter(ops.heap(out), ops.heap(dy), info);
    return out;
  };
}

function avgPoolScatter(dx: Float32Array, dy: Float32Array, info: backend_util.Conv2DInfo): void {
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight, filterWidth, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const scale = 1 / (filterHeight * filterWidth);
  let dyIndex = 0;
  for (let n = 0; n < batchSize; n++) {
    const imageBase = n * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * sh - top;
      const hLo = Math.max(0, h0);
      const hHi = Math.min(H, h0 + filterHeight);
      for (let ow = 0; ow < OW; ow++, dyIndex += C) {
        const w0 = ow * sw - left;
        const wLo = Math.max(0, w0);
        const wHi = Math.min(W, w0 + filterWidth);
        for (let h = hLo; h < hHi; h++) {
          for (let w = wLo; w < wHi; w++) {
            const base = imageBase + (h * W + w) * C;
            for (let c = 0; c < C; c++) dx[base + c] += dy[dyIndex + c] * scale;
          }
        }
      }
    }
  }
}
