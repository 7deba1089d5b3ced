import {
  backend_util,
  broadcast_util,
  getKernel,
  registerKernel,
  unregisterKernel,
  util,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convAttrs, convInfo, input, matMulDims, poolInfo, shape4 } from '../kernels/kernel-attrs.js';
import { leadingAxes } from '../kernels/leading-axes-reduce.js';
import { NATIVE_ACTIVATIONS, type NativeAddon, type NativeAddonInfo } from './native-addon.js';

/**
 * The wasm backend with its heaviest kernels on advkit's native addon (oneDNN): convolutions (plain, fused with
 * bias and activation, depthwise) and their input and filter gradients, matrix products (batched, transposed,
 * fused), max pooling and its gradient, and on large tensors the element-wise ops and reductions that
 * gradients of whole batches are made of (add, subtract, multiply, relu, step, sign, batch normalization,
 * leading-axes sum and mean). Every other op stays on wasm, so tensors stay where they are: the addon reads and writes
 * the wasm heap in place, through the Float32Array views the backend hands out.
 *
 * A kernel falls back to the one it replaced (advkit's wasm kernel or the stock one) for what the addon does not
 * do: non-float32 tensors, NCHW, empty tensors, prelu, and biases that are not one value per output channel.
 */

type Fallback = KernelFunc;
type NativeKernel = (args: Parameters<KernelFunc>[0], addon: NativeAddon) => TensorInfo | null;

let registered: NativeAddon | undefined;

/** The addon the wasm kernels run on, when `registerNativeKernels` has been called. */
export function nativeKernelsAddon(): NativeAddon | undefined {
  return registered;
}

/** oneDNN's version, the ISA its kernels use and the thread count, while the native engine is in use. */
export function nativeEngineInfo(): NativeAddonInfo | undefined {
  return registered?.info();
}

/**
 * Replace the wasm backend's convolution and matrix-product kernels with the addon's. Call after
 * `registerWasmGradientKernels` (their kernels become the fall-backs). Idempotent.
 */
export function registerNativeKernels(addon: NativeAddon): void {
  if (registered !== undefined) return;
  for (const [name, kernel] of Object.entries(NATIVE_KERNELS)) {
    const previous: KernelConfig | undefined = getKernel(name, 'wasm');
    if (previous === undefined) continue;
    unregisterKernel(name, 'wasm');
    const fallback: Fallback = previous.kernelFunc;
    registerKernel({
      kernelName: name,
      backendName: 'wasm',
      setupFunc: previous.setupFunc,
      kernelFunc: (args) => kernel(args, addon) ?? fallback(args),
    });
  }
  registered = addon;
}

const NATIVE_KERNELS: Readonly<Record<string, NativeKernel>> = {
  Conv2D: (args, addon) => convForward(args, addon, false, false),
  FusedConv2D: (args, addon) => convForward(args, addon, false, true),
  DepthwiseConv2dNative: (args, addon) => convForward(args, addon, true, false),
  FusedDepthwiseConv2D: (args, addon) => convForward(args, addon, true, true),
  Conv2DBackpropInput: (args, addon) => convBackwardData(args, addon, false),
  DepthwiseConv2dNativeBackpropInput: (args, addon) => convBackwardData(args, addon, true),
  Conv2DBackpropFilter: (args, addon) => convBackwardFilter(args, addon, false),
  DepthwiseConv2dNativeBackpropFilter: (args, addon) => convBackwardFilter(args, addon, true),
  BatchMatMul: (args, addon) => matMul(args, addon, false),
  _FusedMatMul: (args, addon) => matMul(args, addon, true),
  MaxPoolGrad: maxPoolGrad,
  MaxPool: maxPool,
  Add: (args, addon) => binary(args, addon, 0),
  Sub: (args, addon) => binary(args, addon, 1),
  Multiply: (args, addon) => binary(args, addon, 2),
  Relu: (args, addon) => unary(args, addon, 0),
  Step: (args, addon) => unary(args, addon, 1),
  Sign: (args, addon) => unary(args, addon, 2),
  FusedBatchNorm: batchNorm,
  Sum: (args, addon) => reduceLeading(args, addon, false),
  Mean: (args, addon) => reduceLeading(args, addon, true),
};

/**
 * Below this many elements an element-wise op stays on wasm: a native call costs about 60 us before it does
 * anything. Above it these memory-bound ops (activations, their gradients, bias additions and bias gradients of
 * whole batches) run on every thread. Measured (bench/RESULTS.md): wasm's broadcasting add (a bias along a
 * batch) is 6-7x slower than the native one from 100K elements on; equal-shape adds and activations are about
 * even on their own up to 1M, yet whole gradient steps (MNIST and CIFAR CNNs, batch 128) ran 3-6% faster
 * with them native than with a 1M threshold.
 */
export const NATIVE_ELEMENTWISE_MIN = 16_384;

/**
 * A float32 output of `shape` on the wasm heap, and float32 views of tensors' storage for the addon. Take the
 * views after the allocation: growing the heap replaces its buffer.
 */
function heapOutput(
  backend: unknown,
  shape: number[],
): { out: TensorInfo; heap: (t: TensorInfo) => Float32Array } {
  const wasm = backend as BackendWasm;
  const out = wasm.makeOutput(shape, 'float32');
  return { out, heap: (t) => wasm.typedArrayFromHeap(t) as Float32Array };
}

/** [N, H, W, C, OH, OW, K, KH, KW, SH, SW, DH, DW, PT, PB, PL, PR, G]: the addon's convolution geometry. */
export function convGeometry(info: backend_util.Conv2DInfo, depthwise: boolean): number[] {
  const p = info.padInfo;
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    p.top,
    p.bottom,
    p.left,
    p.right,
    depthwise ? info.inChannels : 1,
  ];
}

function usable(attrs: NamedAttrMap | undefined, ...tensors: TensorInfo[]): boolean {
  const format = attrs?.dataFormat;
  if (format !== undefined && format !== 'NHWC' && format !== 'channelsLast') return false;
  return tensors.every((t) => t.dtype === 'float32' && util.sizeFromShape(t.shape) > 0);
}

/** The fused activation's code and alpha, or null when the addon cannot fuse it (prelu). */
function activationOf(attrs: NamedAttrMap | undefined): [number, number] | null {
  const name = (attrs?.activation as string | undefined) ?? 'linear';
  const code = NATIVE_ACTIVATIONS[name];
  if (code === undefined) return null;
  return [code, (attrs?.leakyreluAlpha as number | undefined) ?? 0.2];
}

/** A bias the addon can add: one value per output channel (any rank with that many elements, or none). */
function biasOf(inputs: Parameters<KernelFunc>[0]['inputs'], channels: number): TensorInfo | null | false {
  const bias = inputs.bias;
  if (bias === undefined || bias === null) return null;
  if (bias.dtype !== 'float32' || util.sizeFromShape(bias.shape) !== channels) return false;
  if (bias.shape.slice(0, -1).some((d) => d !== 1)) return false;
  return bias;
}

function convForward(
  { inputs, backend, attrs }: Parameters<KernelFunc>[0],
  addon: NativeAddon,
  depthwise: boolean,
  fused: boolean,
): TensorInfo | null {
  const name = depthwise ? 'DepthwiseConv2dNative' : 'Conv2D';
  const x = input(name, inputs, 'x');
  const filter = input(name, inputs, 'filter');
  if (!usable(attrs, x, filter)) return null;
  const activation = fused ? activationOf(attrs) : [0, 0];
  if (activation === null) return null;
  const info = convInfo(
    shape4(name, 'x', x.shape),
    shape4(name, 'filter', filter.shape),
    convAttrs(name, attrs),
    depthwise,
  );
  const bias = fused ? biasOf(inputs, info.outChannels) : null;
  if (bias === false) return null;
  const { out, heap } = heapOutput(backend, [
    info.batchSize,
    info.outHeight,
    info.outWidth,
    info.outChannels,
  ]);
  addon.convForward(
    heap(x),
    heap(filter),
    bias === null ? null : heap(bias),
    heap(out),
    convGeometry(info, depthwise),
    activation[0],
    activation[1],
  );
  return out;
}

function convBackwardData(
  { inputs, backend, attrs }: Parameters<KernelFunc>[0],
  addon: NativeAddon,
  depthwise: boolean,
): TensorInfo | null {
  const name = depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput';
  const dy = input(name, inputs, 'dy');
  const filter = input(name, inputs, 'filter');
  if (!usable(attrs, dy, filter)) return null;
  const xShape = shape4(name, 'inputShape', attrs?.inputShape);
  const info = convInfo(xShape, shape4(name, 'filter', filter.shape), convAttrs(name, attrs), depthwise);
  const { out, heap } = heapOutput(backend, xShape);
  addon.convBackwardData(heap(dy), heap(filter), heap(out), convGeometry(info, depthwise));
  return out;
}

function convBackwardFilter(
  { inputs, backend, attrs }: Parameters<KernelFunc>[0],
  addon: NativeAddon,
  depthwise: boolean,
): TensorInfo | null {
  const name = depthwise ? 'DepthwiseConv2dNativeBackpropFilter' : 'Conv2DBackpropFilter';
  const x = input(name, inputs, 'x');
  const dy = input(name, inputs, 'dy');
  if (!usable(attrs, x, dy)) return null;
  const filterShape = shape4(name, 'filterShape', attrs?.filterShape);
  const info = convInfo(shape4(name, 'x', x.shape), filterShape, convAttrs(name, attrs), depthwise);
  const { out, heap } = heapOutput(backend, filterShape);
  addon.convBackwardFilter(heap(x), heap(dy), heap(out), convGeometry(info, depthwise));
  return out;
}

function matMul(
  { inputs, backend, attrs }: Parameters<KernelFunc>[0],
  addon: NativeAddon,
  fused: boolean,
): TensorInfo | null {
  const name = fused ? '_FusedMatMul' : 'BatchMatMul';
  const a = input(name, inputs, 'a');
  const b = input(name, inputs, 'b');
  if (!usable(undefined, a, b) || a.shape.length < 2 || b.shape.length < 2) return null;
  const activation = fused ? activationOf(attrs) : [0, 0];
  if (activation === null) return null;
  const transposeA = attrs?.transposeA === true;
  const transposeB = attrs?.transposeB === true;
  const { m, k, kB, n } = matMulDims(a, b, transposeA, transposeB);
  if (k !== kB) return null; // the replaced kernel reports the mismatch
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const outer = broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  // both operands' batch dimensions at the output's rank (leading 1s), as oneDNN broadcasts them
  const batchA = [...new Array<number>(outer.length - outerA.length).fill(1), ...outerA];
  const batchB = [...new Array<number>(outer.length - outerB.length).fill(1), ...outerB];
  const bias = fused ? biasOf(inputs, n) : null;
  if (bias === false) return null;
  const { out, heap } = heapOutput(backend, [...outer, m, n]);
  addon.matMul(
    heap(a),
    heap(b),
    bias === null ? null : heap(bias),
    heap(out),
    batchA,
    batchB,
    [m, k, n, transposeA ? 1 : 0, transposeB ? 1 : 0],
    activation[0],
    activation[1],
  );
  return out;
}

function poolGeometry(info: backend_util.Conv2DInfo): number[] {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.effectiveFilterHeight,
    info.effectiveFilterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

function maxPool(
  { inputs, backend, attrs }: Parameters<KernelFunc>[0],
  addon: NativeAddon,
): TensorInfo | null {
  const x = input('MaxPool', inputs, 'x');
  if (!usable(undefined, x)) return null;
  const info = poolInfo('MaxPool', x.shape, attrs);
  const { out, heap } = heapOutput(backend, [
    info.batchSize,
    info.outHeight,
    info.outWidth,
    info.outChannels,
  ]);
  addon.maxPoolForward(heap(x), heap(out), poolGeometry(info));
  return out;
}

/** The part of `full`'s shape that `part` repeats over, when it is a scalar or matches `full`'s last axes. */
function repeats(full: number[], part: number[]): boolean {
  const trimmed = part.slice(
    part.findIndex((d) => d !== 1) === -1 ? part.length : part.findIndex((d) => d !== 1),
  );
  return trimmed.length <= full.length && util.arraysEqual(trimmed, full.slice(full.length - trimmed.length));
}

function binary(
  { inputs, backend }: Parameters<KernelFunc>[0],
  addon: NativeAddon,
  op: number,
): TensorInfo | null {
  const a = input('binary', inputs, 'a');
  const b = input('binary', inputs, 'b');
  if (!usable(undefined, a, b)) return null;
  const outShape = broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const n = util.sizeFromShape(outShape);
  if (n < NATIVE_ELEMENTWISE_MIN) return null;
  let mode: number;
  let inner = n;
  if (util.arraysEqual(a.shape, b.shape)) mode = 0;
  else if (util.arraysEqual(outShape, a.shape) && repeats(a.shape, b.shape)) {
    mode = 1;
    inner = util.sizeFromShape(b.shape);
  } else if (util.arraysEqual(outShape, b.shape) && repeats(b.shape, a.shape)) {
    mode = 2;
    inner = util.sizeFromShape(a.shape);
  } else return null;
  const { out, heap } = heapOutput(backend, outShape);
  addon.binary(op, heap(a), heap(b), heap(out), [n, mode, inner]);
  return out;
}

function unary(
  { inputs, backend, attrs }: Parameters<KernelFunc>[0],
  addon: NativeAddon,
  op: number,
): TensorInfo | null {
  const x = input('unary', inputs, 'x');
  if (!usable(undefined, x)) return null;
  const n = util.sizeFromShape(x.shape);
  if (n < NATIVE_ELEMENTWISE_MIN) return null;
  const { out, heap } = heapOutput(backend, x.shape);
  addon.unary(op, heap(x), heap(out), n, (attrs?.alpha as number | undefined) ?? 0);
  return out;
}

function reduceLeading(
  { inputs, backend, attrs }: Parameters<KernelFunc>[0],
  addon: NativeAddon,
  mean: boolean,
): TensorInfo | null {
  const x = input(mean ? 'Mean' : 'Sum', inputs, 'x');
  if (!usable(undefined, x) || util.sizeFromShape(x.shape) < NATIVE_ELEMENTWISE_MIN) return null;
  const axes = leadingAxes(x, attrs);
  if (axes === null) return null;
  const rows = util.sizeFromShape(x.shape.slice(0, axes));
  const kept = x.shape.slice(axes);
  const { out, heap } = heapOutput(
    backend,
    attrs?.keepDims === true ? [...x.shape.slice(0, axes).map(() => 1), ...kept] : kept,
  );
  addon.sumRows(heap(x), heap(out), rows, util.sizeFromShape(kept), mean ? 1 / rows : 1);
  return out;
}

/**
 * Batch normalization with per-channel statistics (each of mean, variance, offset and scale one value per channel
 * of the last axis, or absent): folded into out = x * a + b per channel, a = scale / sqrt(variance + eps) and
 * b = offset - mean * a, computed in double here.
 */
function batchNorm(
  { inputs, backend, attrs }: Parameters<KernelFunc>[0],
  addon: NativeAddon,
): TensorInfo | null {
  const x = input('FusedBatchNorm', inputs, 'x');
  if (!usable(undefined, x) || x.shape.length === 0 || util.sizeFromShape(x.shape) < NATIVE_ELEMENTWISE_MIN)
    return null;
  const channels = x.shape[x.shape.length - 1];
  const perChannel = (name: string): Float32Array | null | false => {
    const t = inputs[name];
    if (t === undefined || t === null) return null;
    if (t.dtype !== 'float32' || util.sizeFromShape(t.shape) !== channels) return false;
    return (backend as BackendWasm).typedArrayFromHeap(t) as Float32Array;
  };
  const mean = perChannel('mean');
  const variance = perChannel('variance');
  const offset = perChannel('offset');
  const scale = perChannel('scale');
  if (mean === false || variance === false || offset === false || scale === false) return null;
  if (mean === null || variance === null) return null;
  const eps = (attrs?.varianceEpsilon as number | undefined) ?? 0.001;
  const a = new Float32Array(channels);
  const b = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const factor = (scale === null ? 1 : scale[c]) / Math.sqrt(variance[c] + eps);
    a[c] = factor;
    b[c] = (offset === null ? 0 : offset[c]) - mean[c] * factor;
  }
  const { out, heap } = heapOutput(backend, x.shape);
  addon.channelAffine(heap(x), a, b, heap(out), util.sizeFromShape(x.shape), channels);
  return out;
}

function maxPoolGrad(
  { inputs, backend, attrs }: Parameters<KernelFunc>[0],
  addon: NativeAddon,
): TensorInfo | null {
  const dy = input('MaxPoolGrad', inputs, 'dy');
  const x = input('MaxPoolGrad', inputs, 'input');
  if (!usable(undefined, dy, x)) return null;
  const info = poolInfo('MaxPoolGrad', x.shape, attrs);
  const { out, heap } = heapOutput(backend, x.shape);
  addon.maxPoolBackward(heap(x), heap(dy), heap(out), poolGeometry(info));
  return out;
}
