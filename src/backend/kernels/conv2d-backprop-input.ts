import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convAttrs, convInfo, input, shape4 } from './kernel-attrs.js';
import { col2imAdd, inputGradViaForwardConv } from './transposed-conv.js';
import { WasmOps, type StockKernels } from './wasm-ops.js';

const NAME = 'Conv2DBackpropInput';

/**
 * Input gradient of conv2d (also conv2dTranspose's forward). Two exact strategies, picked per shape:
 * - a forward convolution of the stride-dilated dy with the flipped, channel-transposed filter (fast when the
 *   layer has several input channels and stride 1);
 * - one matrix product dy[N*OH*OW, Cout] x W^T[Cout, KH*KW*Cin] followed by col2im (no wasted multiplications
 *   for strided layers; better for single-channel inputs, where the convolution's output has one channel
 *   and XNNPACK's micro-kernels run mostly empty).
 */
export function makeConv2dBackpropInput(stock: StockKernels): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    // the stock kernel's naive loop also handles NCHW, which no wasm forward convolution produces
    if (attrs?.dataFormat === 'NCHW') return stock.Conv2DBackpropInput(args);
    const ops = new WasmOps(backend as BackendWasm, stock);
    const dy = input(NAME, inputs, 'dy');
    const filter = input(NAME, inputs, 'filter');
    const a = convAttrs(NAME, attrs);
    const info = convInfo(
      shape4(NAME, 'inputShape', attrs?.inputShape),
      shape4(NAME, 'filter', filter.shape),
      a,
      false,
    );
    const strided = info.strideHeight > 1 || info.strideWidth > 1;
    return strided || info.inChannels === 1
      ? viaCol2im(ops, dy, filter, info)
      : viaConv(ops, dy, filter, info);
  };
}

function viaConv(
  ops: WasmOps,
  dy: TensorInfo,
  filter: TensorInfo,
  info: ReturnType<typeof convInfo>,
): TensorInfo {
  const reversed = ops.reverse(filter, [0, 1]);
  const flipped = ops.transpose(reversed, [0, 1, 3, 2]);
  const out = inputGradViaForwardConv(ops, dy, flipped, info, false);
  ops.dispose(reversed, flipped);
  return out;
}

function viaCol2im(
  ops: WasmOps,
  dy: TensorInfo,
  filter: TensorInfo,
  info: ReturnType<typeof convInfo>,
): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: cin, outChannels: cout } = info;
  const w2 = ops.reshape(filter, [kh * kw * cin, cout]);
  const wT = ops.transpose(w2, [1, 0]);
  const dy2 = ops.reshape(dy, [info.batchSize * info.outHeight * info.outWidth, cout]);
  const cols = ops.matMul(dy2, wT);
  const out = ops.zeros(info.inShape);
  col2imAdd(ops.heap(out), ops.heap(cols), info);
  ops.dispose(w2, wT, dy2, cols);
  return out;
}
