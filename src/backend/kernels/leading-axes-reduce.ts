import { util, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { input } from './kernel-attrs.js';
import { WasmOps, type StockKernels } from './wasm-ops.js';

/**
 * Sum and Mean over leading axes (bias gradients reduce dy over [N, H, W]; batch statistics over [N, H, W]). The
 * stock wasm kernels first transpose the reduced axes to the end, a full copy that costs several times the
 * reduction itself; here the rows are accumulated in place, one pass over the heap. Any other reduction goes to
 * the stock kernel.
 */
export function makeLeadingAxesReduce(kind: 'Sum' | 'Mean', stock: StockKernels): KernelFunc {
  const fallback = stock[kind];
  return (args) => {
    const x = input(kind, args.inputs, 'x');
    const axes = leadingAxes(x, args.attrs);
    if (x.dtype !== 'float32' || axes === null) return fallback(args);
    const ops = new WasmOps(args.backend as BackendWasm, stock);
    const out = reduceLeadingAxes(ops, x, axes, kind === 'Mean');
    if (args.attrs?.keepDims === true) out.shape = [...x.shape.slice(0, axes).map(() => 1), ...out.shape];
    return out;
  };
}

/** Sum (or mean) of a float32 tensor over its first `axes` axes. */
export function reduceLeadingAxes(ops: WasmOps, x: TensorInfo, axes: number, mean = false): TensorInfo {
  const rows = util.sizeFromShape(x.shape.slice(0, axes));
  const out = ops.backend.makeOutput(x.shape.slice(axes), 'float32');
  sumRows(ops.heap(out), ops.heap(x), rows, mean ? 1 / rows : 1);
  return out;
}

/** How many leading axes are reduced when the reduction is exactly axes [0, k) with 0 < k < rank, else null. */
export function leadingAxes(x: TensorInfo, attrs: NamedAttrMap | undefined): number | null {
  const rank = x.shape.length;
  const raw = attrs?.axis;
  const list = (Array.isArray(raw) ? raw : [raw]).map((a) => (typeof a === 'number' && a < 0 ? a + rank : a));
  const sorted = [...new Set(list)].sort((a, b) => Number(a) - Number(b));
  const k = sorted.length;
  if (k === 0 || k >= rank || sorted.some((a, i) => a !== i)) return null;
  return util.sizeFromShape(x.shape) === 0 ? null : k;
}

function sumRows(out: Float32Array, x: Float32Array, rows: number, scale: number): void {
  const width = out.length;
  const acc = new Float64Array(width);
  let r = 0;
  let b0 = 0;
  // four rows per pass: a quarter of the accumulator traffic
  for (; r + 4 <= rows; r += 4, b0 += 4 * width) {
    const b1 = b0 + width;
    const b2 = b1 + width;
    const b3 = b2 + width;
    for (let c = 0; c < width; c++) acc[c] += x[b0 + c] + x[b1 + c] + (x[b2 + c] + x[b3 + c]);
  }
  for (; r < rows; r++, b0 += width) {
    for (let c = 0; c < width; c++) acc[c] += x[b0 + c];
  }
  for (let c = 0; c < width; c++) out[c] = acc[c] * scale;
}
