import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmOps } from './wasm-ops.js';

/**
 * out[n, i, j, :] = x[n, top + i*strideH, left + j*strideW, :] for an NHWC tensor, copied channel block by
 * channel block on the heap (the stock StridedSlice kernel takes ~10x a plain copy for strides above 1).
 * The window must lie inside x.
 */
export function stridedWindow(
  ops: WasmOps,
  x: TensorInfo,
  origin: [number, number],
  size: [number, number],
  strides: [number, number],
): TensorInfo {
  const [n, h, w, c] = x.shape;
  const [rows, cols] = size;
  const out = ops.backend.makeOutput([n, rows, cols, c], 'float32');
  const dst = ops.heap(out);
  const src = ops.heap(x);
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < rows; i++) {
      let s = ((b * h + origin[0] + i * strides[0]) * w + origin[1]) * c;
      const step = strides[1] * c;
      for (let j = 0; j < cols; j++, s += step) {
        for (let k = 0; k < c; k++) dst[o++] = src[s + k];
      }
    }
  }
  return out;
}
