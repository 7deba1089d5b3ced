import type { KernelFunc } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convAttrs, convInfo, input, shape4 } from './kernel-attrs.js';
import { WasmOps, type StockKernels } from './wasm-ops.js';

const NAME = 'Conv2DBackpropFilter';

/**
 * Filter gradient of conv2d as one forward convolution with batch and channels swapped:
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
    const [kh, kw, cin, cout] = filterShape;
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const { top, left } = info.padInfo;
    // Padding after the image so that the correlation reaches every filter tap (extra rows only add zeros).
    const bottom = Math.max(0, (kh - 1) * dh + (info.outHeight - 1) * sh + 1 - info.inHeight - top);
    const right = Math.max(0, (kw - 1) * dw + (info.outWidth - 1) * sw + 1 - info.inWidth - left);
    const xT = ops.transpose(x, [3, 1, 2, 0]);
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
