import type { KernelFunc } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convAttrs, convInfo, input, shape4 } from './kernel-attrs.js';
import { reduceLeadingAxes } from './leading-axes-reduce.js';
import { stridedWindow } from './strided-window.js';
import { WasmOps, type StockKernels } from './wasm-ops.js';

const NAME = 'DepthwiseConv2dNativeBackpropFilter';

/**
 * Filter gradient of a depthwise convolution, one filter tap at a time:
 * dW[kh,kw,c,m] = sum_{n,oh,ow} xpad[n, oh*s + kh*d, ow*s + kw*d, c] * dy[n,oh,ow,c*M+m],
 * i.e. a strided window of the padded input times dy, summed over batch and space (KH*KW elementwise passes,
 * the same multiply count as the forward pass).
 */
export function makeDepthwiseBackpropFilter(stock: StockKernels): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const ops = new WasmOps(backend as BackendWasm, stock);
    const x = input(NAME, inputs, 'x');
    const dy = input(NAME, inputs, 'dy');
    const a = convAttrs(NAME, attrs);
    const filterShape = shape4(NAME, 'filterShape', attrs?.filterShape);
    const info = convInfo(shape4(NAME, 'x', x.shape), filterShape, a, true);
    const [kh, kw, channels, multiplier] = filterShape;
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const { outHeight: oh, outWidth: ow, batchSize: n } = info;
    const { top, left } = info.padInfo;
    const bottom = Math.max(0, (kh - 1) * dh + (oh - 1) * sh + 1 - info.inHeight - top);
    const right = Math.max(0, (kw - 1) * dw + (ow - 1) * sw + 1 - info.inWidth - left);
    const xPad = ops.pad(x, [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ]);
    const dyPlanes = multiplier === 1 ? dy : ops.reshape(dy, [n, oh, ow, channels, multiplier]);
    const tapSize = channels * multiplier;
    const out = ops.backend.makeOutput(filterShape, 'float32');
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const window = stridedWindow(ops, xPad, [i * dh, j * dw], [oh, ow], [sh, sw]);
        const windowPlanes = multiplier === 1 ? window : ops.reshape(window, [n, oh, ow, channels, 1]);
        const product = ops.multiply(windowPlanes, dyPlanes);
        const tap = reduceLeadingAxes(ops, product, 3);
        // Read the heap only after the allocations above: growing wasm memory detaches older views.
        ops.heap(out).set(ops.heap(tap), (i * kw + j) * tapSize);
        ops.dispose(window, product, tap);
        if (windowPlanes !== window) ops.dispose(windowPlanes);
      }
    }
    ops.dispose(xPad);
    if (dyPlanes !== dy) ops.dispose(dyPlanes);
    return out;
  };
}
