import { getKernel, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { AdvkitError } from '../../errors.js';

/** Stock wasm kernels our gradient kernels are built from (captured before any of them is replaced). */
export const STOCK_KERNEL_NAMES = [
  'BatchMatMul',
  'Cast',
  'Conv2D',
  'Conv2DBackpropInput',
  'DepthwiseConv2dNative',
  'Identity',
  'Mean',
  'PadV2',
  'Reshape',
  'Reverse',
  'Slice',
  'Sum',
  'Transpose',
] as const;
export type StockKernelName = (typeof STOCK_KERNEL_NAMES)[number];
export type StockKernels = Record<StockKernelName, KernelFunc>;

export function captureStockKernels(): StockKernels {
  const found: Partial<StockKernels> = {};
  for (const name of STOCK_KERNEL_NAMES) {
    const config = getKernel(name, 'wasm');
    if (config === undefined) {
      throw new AdvkitError(
        'UNSUPPORTED',
        `The tfjs wasm backend has no '${name}' kernel registered. Import '@tensorflow/tfjs-backend-wasm' ` +
          'before registering advkit gradient kernels.',
        { kernel: name },
      );
    }
    found[name] = config.kernelFunc;
  }
  return found as StockKernels;
}

type Pair = [number, number];

/**
 * Kernel-level calls into the wasm backend's own (XNNPACK) kernels. Every result is a TensorInfo owned by the
 * caller, who hands intermediates back with `dispose` so that nothing reaches the engine's tensor tracking.
 */
export class WasmOps {
  constructor(
    readonly backend: BackendWasm,
    private readonly stock: StockKernels,
  ) {}

  private run(name: StockKernelName, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
    const out = this.stock[name]({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) throw new AdvkitError('INTERNAL', `Kernel ${name} returned several outputs.`);
    return out;
  }

  dispose(...infos: TensorInfo[]): void {
    for (const info of infos) this.backend.disposeData(info.dataId);
  }

  /** A float32 view of a tensor's storage on the wasm heap (valid until the next allocation). */
  heap(info: TensorInfo): Float32Array {
    const view = this.backend.typedArrayFromHeap(info);
    if (!(view instanceof Float32Array)) {
      throw new AdvkitError('UNSUPPORTED', `Expected a float32 tensor, got ${info.dtype}.`, {
        dtype: info.dtype,
      });
    }
    return view;
  }

  zeros(shape: number[]): TensorInfo {
    const out = this.backend.makeOutput(shape, 'float32');
    this.heap(out).fill(0);
    return out;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  reverse(x: TensorInfo, dims: number[]): TensorInfo {
    return this.run('Reverse', { x }, { dims });
  }

  pad(x: TensorInfo, paddings: Pair[]): TensorInfo {
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return this.run('Slice', { x }, { begin, size });
  }

  sum(x: TensorInfo, axis: number[]): TensorInfo {
    return this.run('Sum', { x }, { axis, keepDims: false });
  }

  /** Plain (non-transposed) product of two rank-2 or rank-3 tensors: the stock XNNPACK fast path. */
  matMul(a: TensorInfo, b: TensorInfo): TensorInfo {
    return this.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
  }

  /** NHWC convolution with explicit padding [[top, bottom], [left, right]]. */
  conv2d(x: TensorInfo, filter: TensorInfo, strides: Pair, dilations: Pair, pads: [Pair, Pair]): TensorInfo {
    return this.run(
      'Conv2D',
      { x, filter },
      { strides, dilations, pad: [[0, 0], pads[0], pads[1], [0, 0]], dataFormat: 'NHWC' },
    );
  }

  depthwiseConv2d(x: TensorInfo, filter: TensorInfo, dilations: Pair, pads: [Pair, Pair]): TensorInfo {
    return this.run(
      'DepthwiseConv2dNative',
      { x, filter },
      { strides: [1, 1], dilations, pad: [[0, 0], pads[0], pads[1], [0, 0]], dataFormat: 'NHWC' },
    );
  }
}
