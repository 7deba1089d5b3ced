import type { backend_util, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convAttrs, convInfo, input, shape4 } from './kernel-attrs.js';
import { stridedWindow } from './strided-window.js';
import { WasmOps, type StockKernels } from './wasm-ops.js';

const NAME = 'Conv2DBackpropFilter';
/** Up to this many input channels the transposed im2col (KH*KW*Cin rows) stays small enough to build. */
const IM2COL_MAX_CHANNELS = 4;

/**
 * Filter gradient of conv2d, two exact strategies picked per shape:
 * - few input channels (first layers): one matrix product colsT[KH*KW*Cin, N*OH*OW] x dy[N*OH*OW, Cout], with
 *   the transposed im2col built directly (small, since Cin is) and dy used as it lies;
 * - 1x1 filters without padding: x (subsampled by the stride)^T x dy, a plain matrix product;
 * - otherwise one forward convolution with batch and channels swapped:
 * dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s + kh*d - pad, ow*s + kw*d - pad, ci] * dy[n,oh,ow,co]
 * is the convolution of x^T [Cin, H, W, N] (N as channels) with dy^T [OH, OW, N, Cout] as the filter, whose
 * stride is the forward dilation and whose dilation is the forward stride. Output [Cin, KH, KW, Cout] is then
 * transposed to the filter layout.
 */
export function makeConv2dBackpropFilter(stock: StockKernels): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const ops = new WasmOps(backend as BackendWasm, stock);
    const x = input(NAME, inputs, 'x');
    const dy = input(NAME, inputs, 'dy');
    const a = convAttrs(NAME, attrs);
    const filterShape = shape4(NAME, 'filterShape', attrs?.filterShape);
    const info = convInfo(shape4(NAME, 'x', x.shape), filterShape, a, false);
    if (isPointwise(info)) return viaPointwise(ops, x, dy, info);
    if (info.inChannels <= IM2COL_MAX_CHANNELS) return viaIm2col(ops, x, dy, info);
    const [kh, kw, cin, cout] = filterShape;
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const { top, left } = info.padInfo;
    // Padding after the image so that the correlation reaches every filter tap (extra rows only add zeros).
    const bottom = Math.max(0, (kh - 1) * dh + (info.outHeight - 1) * sh + 1 - info.inHeight - top);
    const right = Math.max(0, (kw - 1) * dw + (info.outWidth - 1) * sw + 1 - info.inWidth - left);
    const xT = batchToChannels(ops, x);
    const dyT = ops.transpose(dy, [1, 2, 0, 3]);
    const corr = ops.conv2d(
      xT,
      dyT,
      [dh, dw],
      [sh, sw],
      [
        [top, bottom],
        [left, right],
      ],
    );
    let gradT = corr;
    if (corr.shape[1] !== kh || corr.shape[2] !== kw) {
      gradT = ops.slice(corr, [0, 0, 0, 0], [cin, kh, kw, cout]);
      ops.dispose(corr);
    }
    const out = ops.transpose(gradT, [1, 2, 0, 3]);
    ops.dispose(xT, dyT, gradT);
    return out;
  };
}

function viaIm2col(ops: WasmOps, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: cin, outChannels: cout } = info;
  const positions = info.batchSize * info.outHeight * info.outWidth;
  const colsT = ops.backend.makeOutput([kh * kw * cin, positions], 'float32');
  im2colTransposed(ops.heap(colsT), ops.heap(x), info);
  const dy2 = ops.reshape(dy, [positions, cout]);
  const grad = ops.matMul(colsT, dy2);
  const out = ops.reshape(grad, [kh, kw, cin, cout]);
  ops.dispose(colsT, dy2, grad);
  return out;
}

/** colsT[(kh,kw,ci), (n,oh,ow)] = x[n, oh*s + kh*d - padTop, ow*s + kw*d - padLeft, ci] (0 in the padding). */
function im2colTransposed(out: Float32Array, x: Float32Array, info: backend_util.Conv2DInfo): void {
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  let o = 0;
  for (let i = 0; i < KH; i++) {
    for (let j = 0; j < KW; j++) {
      for (let c = 0; c < C; c++) {
        for (let n = 0; n < batchSize; n++) {
          for (let oh = 0; oh < OH; oh++) {
            const h = oh * sh + i * dh - top;
            if (h < 0 || h >= H) {
              out.fill(0, o, o + OW);
              o += OW;
              continue;
            }
            const rowBase = (n * H + h) * W;
            for (let ow = 0; ow < OW; ow++) {
              const w = ow * sw + j * dw - left;
              out[o++] = w >= 0 && w < W ? x[(rowBase + w) * C + c] : 0;
            }
          }
        }
      }
    }
  }
}

function isPointwise(info: backend_util.Conv2DInfo): boolean {
  const { top, bottom, left, right } = info.padInfo;
  return info.filterHeight === 1 && info.filterWidth === 1 && top + bottom + left + right === 0;
}

function viaPointwise(
  ops: WasmOps,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize: n, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { inChannels: cin, outChannels: cout } = info;
  const positions = n * oh * ow;
  const sampled = sh > 1 || sw > 1 ? stridedWindow(ops, x, [0, 0], [oh, ow], [sh, sw]) : x;
  const x2 = ops.reshape(sampled, [positions, cin]);
  const xT = ops.transpose(x2, [1, 0]);
  const dy2 = ops.reshape(dy, [positions, cout]);
  const grad = ops.matMul(xT, dy2);
  const out = ops.reshape(grad, [1, 1, cin, cout]);
  ops.dispose(x2, xT, dy2, grad);
  if (sampled !== x) ops.dispose(sampled);
  return out;
}

/**
 * [N, H, W, C] -> [C, H, W, N], copied on the heap four channels per pass over the batch: measured 1.6-2.2x faster
 * than the previous two stock Transpose calls on CIFAR conv2.
 */
function batchToChannels(ops: WasmOps, x: TensorInfo): TensorInfo {
  const [n, h, w, c] = x.shape;
  const out = ops.backend.makeOutput([c, h, w, n], 'float32');
  const dst = ops.heap(out);
  const src = ops.heap(x);
  const pixels = h * w;
  const plane = pixels * n;
  const image = pixels * c;
  for (let p = 0; p < pixels; p++) {
    let k = 0;
    for (; k + 4 <= c; k += 4) {
      const o = k * plane + p * n;
      let i = p * c + k;
      for (let b = 0; b < n; b++, i += image) {
        dst[o + b] = src[i];
        dst[o + plane + b] = src[i + 1];
        dst[o + 2 * plane + b] = src[i + 2];
        dst[o + 3 * plane + b] = src[i + 3];
      }
    }
    for (; k < c; k++) {
      const o = k * plane + p * n;
      for (let b = 0, i = p * c + k; b < n; b++, i += image) dst[o + b] = src[i];
    }
  }
  return out;
}
