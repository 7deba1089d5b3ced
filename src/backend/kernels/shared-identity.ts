import type { KernelFunc } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { input } from './kernel-attrs.js';
import type { StockKernels } from './wasm-ops.js';

/**
 * Identity, and Cast to the same dtype, without a copy: the output shares the input's buffer (reference
 * counted, as the stock Reshape kernel and the cpu backend's Identity do; tensors are immutable). Gradient
 * code calls them on whole activations (the stock kernels copy every element), e.g. tfjs-layers casts
 * float32 activations to float32.
 */
export function makeSharedIdentity(kind: 'Identity' | 'Cast', stock: StockKernels): KernelFunc {
  const fallback = stock[kind];
  return (args) => {
    const x = input(kind, args.inputs, 'x');
    const sameType = kind === 'Identity' || args.attrs?.dtype === x.dtype;
    if (!sameType || x.dtype === 'string') return fallback(args);
    (args.backend as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}
