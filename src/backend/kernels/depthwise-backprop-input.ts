import type { KernelFunc } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convAttrs, convInfo, input, shape4 } from './kernel-attrs.js';
import { inputGradViaForwardConv } from './transposed-conv.js';
import { WasmOps, type StockKernels } from './wasm-ops.js';

const NAME = 'DepthwiseConv2dNativeBackpropInput';

/**
 * Input gradient of a depthwise convolution: each of the C*M output channels is transposed-convolved with its own
 * flipped filter plane by one depthwise convolution (multiplier 1) over dy, then the M planes that came from the
 * same input channel are summed.
 */
export function makeDepthwiseBackpropInput(stock: StockKernels): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const ops = new WasmOps(backend as BackendWasm, stock);
    const dy = input(NAME, inputs, 'dy');
    const filter = input(NAME, inputs, 'filter');
    const a = convAttrs(NAME, attrs);
    const filterShape = shape4(NAME, 'filter', filter.shape);
    const info = convInfo(shape4(NAME, 'inputShape', attrs?.inputShape), filterShape, a, true);
    const [kh, kw, channels, multiplier] = filterShape;
    const reversed = ops.reverse(filter, [0, 1]);
    const flipped = ops.reshape(reversed, [kh, kw, channels * multiplier, 1]);
    const perPlane = inputGradViaForwardConv(ops, dy, flipped, info, true);
    ops.dispose(reversed, flipped);
    if (multiplier === 1) return perPlane;
    const [n, h, w] = info.inShape;
    const split = ops.reshape(perPlane, [n, h, w, channels, multiplier]);
    const out = ops.sum(split, [4]);
    ops.dispose(perPlane, split);
    return out;
  };
}
