import type { backend_util, KernelFunc } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convAttrs, convInfo, input, shape4 } from './kernel-attrs.js';
import { WasmOps, type StockKernels } from './wasm-ops.js';

const NAME = 'DepthwiseConv2dNativeBackpropFilter';

/**
 * Filter gradient of a depthwise convolution,
 * dW[kh,kw,c,m] = sum_{n,oh,ow} x[n, oh*s + kh*d - pad, ow*s + kw*d - pad, c] * dy[n,oh,ow,c*M+m],
 * accumulated in one pass over dy on the wasm heap (the same multiply count as the forward pass; XNNPACK has
 * no kernel that reduces over the batch per channel).
 */
export function makeDepthwiseBackpropFilter(stock: StockKernels): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const ops = new WasmOps(backend as BackendWasm, stock);
    const x = input(NAME, inputs, 'x');
    const dy = input(NAME, inputs, 'dy');
    const filterShape = shape4(NAME, 'filterShape', attrs?.filterShape);
    const info = convInfo(shape4(NAME, 'x', x.shape), filterShape, convAttrs(NAME, attrs), true);
    const out = ops.backend.makeOutput(filterShape, 'float32');
    accumulate(ops.heap(out), ops.heap(x), ops.heap(dy), info, filterShape[3]);
    return out;
  };
}

function accumulate(
  out: Float32Array,
  x: Float32Array,
  dy: Float32Array,
  info: backend_util.Conv2DInfo,
  multiplier: number,
): void {
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const planes = C * multiplier;
  const acc = new Float64Array(KH * KW * planes);
  let dyBase = 0;
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++, dyBase += planes) {
        for (let i = 0; i < KH; i++) {
          const h = oh * sh + i * dh - top;
          if (h < 0 || h >= H) continue;
          for (let j = 0; j < KW; j++) {
            const w = ow * sw + j * dw - left;
            if (w < 0 || w >= W) continue;
            const xBase = ((n * H + h) * W + w) * C;
            const tap = (i * KW + j) * planes;
            if (multiplier === 1) {
              for (let c = 0; c < C; c++) acc[tap + c] += x[xBase + c] * dy[dyBase + c];
            } else {
              for (let c = 0, p = 0; c < C; c++) {
                const v = x[xBase + c];
                for (let m = 0; m < multiplier; m++, p++) acc[tap + p] += v * dy[dyBase + p];
              }
            }
          }
        }
      }
    }
  }
  for (let k = 0; k < acc.length; k++) out[k] = acc[k];
}
