import { broadcast_util, util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { AdvkitError } from '../../errors.js';
import { input, matMulDims } from './kernel-attrs.js';
import { WasmOps, type StockKernels } from './wasm-ops.js';

/**
 * BatchMatMul whose every product runs on the stock kernel's fast path (XNNPACK, rank 2, no transpose flags).
 * The stock kernel computes transposed operands and batches of more than one matrix with a scalar loop 10-50x
 * slower, and the dense-layer gradients ask for exactly those (dy·W^T, x^T·dy). Transposes are done explicitly
 * (moving the cheaper side: A·B^T = (B·A^T)^T when B is large), and batches run matrix by matrix.
 */
export function makeBatchMatMul(stock: StockKernels): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const ops = new WasmOps(backend as BackendWasm, stock);
    const a = input('BatchMatMul', inputs, 'a');
    const b = input('BatchMatMul', inputs, 'b');
    const transposeA = attrs?.transposeA === true;
    const transposeB = attrs?.transposeB === true;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') {
      throw new AdvkitError(
        'UNSUPPORTED',
        `BatchMatMul on wasm supports float32 only, got ${a.dtype} and ${b.dtype}.`,
      );
    }
    const { m, k, kB, n } = matMulDims(a, b, transposeA, transposeB);
    const aRank = a.shape.length;
    const bRank = b.shape.length;
    if (k !== kB) {
      throw new AdvkitError(
        'INVALID_ARGUMENT',
        `matMul: inner dimensions ${k} and ${kB} of shapes [${a.shape}] and [${b.shape}] ` +
          `(transposeA=${transposeA}, transposeB=${transposeB}) must match.`,
      );
    }
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const outer = broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
    const batchA = util.sizeFromShape(outerA);
    const batchB = util.sizeFromShape(outerB);
    const batch = util.sizeFromShape(outer);
    const outShape = [...outer, m, n];
    const a3 = ops.reshape(a, [batchA, a.shape[aRank - 2], a.shape[aRank - 1]]);
    const b3 = ops.reshape(b, [batchB, b.shape[bRank - 2], b.shape[bRank - 1]]);
    let result: TensorInfo;
    if (batch === 1) {
      const a2 = ops.reshape(a3, a3.shape.slice(1));
      const b2 = ops.reshape(b3, b3.shape.slice(1));
      const product = matMul2d(ops, a2, b2, transposeA, transposeB);
      result = ops.reshape(product, outShape);
      ops.dispose(a2, b2, product);
    } else {
      result = ops.backend.makeOutput(outShape, 'float32');
      const sourceA = broadcastSources(outerA, outer);
      const sourceB = broadcastSources(outerB, outer);
      for (let i = 0; i < batch; i++) {
        const ai = ops.slice(a3, [sourceA[i], 0, 0], [1, a3.shape[1], a3.shape[2]]);
        const bi = ops.slice(b3, [sourceB[i], 0, 0], [1, b3.shape[1], b3.shape[2]]);
        const a2 = ops.reshape(ai, ai.shape.slice(1));
        const b2 = ops.reshape(bi, bi.shape.slice(1));
        const product = matMul2d(ops, a2, b2, transposeA, transposeB);
        ops.heap(result).set(ops.heap(product), i * m * n);
        ops.dispose(ai, bi, a2, b2, product);
      }
    }
    ops.dispose(a3, b3);
    return result;
  };
}

/** For each (flat) index of the broadcast batch shape `outer`, the flat index in the operand's batch shape. */
function broadcastSources(shape: number[], outer: number[]): number[] {
  const padded = [...new Array<number>(outer.length - shape.length).fill(1), ...shape];
  const sources: number[] = [];
  const total = util.sizeFromShape(outer);
  for (let flat = 0; flat < total; flat++) {
    let rest = flat;
    let source = 0;
    let stride = 1;
    for (let d = outer.length - 1; d >= 0; d--) {
      const index = rest % outer[d];
      rest = Math.floor(rest / outer[d]);
      if (padded[d] !== 1) source += index * stride;
      stride *= padded[d];
    }
    sources.push(source);
  }
  return sources;
}

function size(t: TensorInfo): number {
  return util.sizeFromShape(t.shape);
}

/** op(A)·op(B) for rank-2 operands, using only non-transposed products and explicit transposes. */
function matMul2d(
  ops: WasmOps,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): TensorInfo {
  const outSize = (transposeA ? a.shape[1] : a.shape[0]) * (transposeB ? b.shape[0] : b.shape[1]);
  const t = (x: TensorInfo): TensorInfo => ops.transpose(x, [1, 0]);
  const viaOperands = (): TensorInfo => {
    const left = transposeA ? t(a) : a;
    const right = transposeB ? t(b) : b;
    const out = ops.matMul(left, right);
    if (left !== a) ops.dispose(left);
    if (right !== b) ops.dispose(right);
    return out;
  };
  // (op(A)·op(B))^T = op(B)^T·op(A)^T: transposing the flags costs a transpose of the (maybe smaller) result.
  const viaResult = (): TensorInfo => {
    const left = transposeB ? b : t(b);
    const right = transposeA ? a : t(a);
    const productT = ops.matMul(left, right);
    const out = t(productT);
    if (left !== b) ops.dispose(left);
    if (right !== a) ops.dispose(right);
    ops.dispose(productT);
    return out;
  };
  if (!transposeA && !transposeB) return ops.matMul(a, b);
  const costOperands = (transposeA ? size(a) : 0) + (transposeB ? size(b) : 0);
  const costResult = outSize + (transposeB ? 0 : size(b)) + (transposeA ? 0 : size(a));
  return costOperands <= costResult ? viaOperands() : viaResult();
}
