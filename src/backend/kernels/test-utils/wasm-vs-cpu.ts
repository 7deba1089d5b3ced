import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-layers registers the gradient functions of every op (tfjs-core alone registers none).
import '@tensorflow/tfjs-layers';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Rng } from '../../../util/rng.js';
import { registerWasmGradientKernels } from '../register-wasm-gradients.js';

const require = createRequire(import.meta.url);

/** Start wasm (single-threaded, as tfjs does under Node) with advkit's gradient kernels registered. */
export async function startWasmWithAdvkitKernels(): Promise<void> {
  const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  setWasmPaths(dir + path.sep);
  registerWasmGradientKernels();
  await tf.setBackend('wasm');
  await tf.ready();
}

export type Arrays = { shape: number[]; values: Float32Array }[];

/** Run `fn` on a backend, read every output back and dispose it; the current backend is restored after. */
export async function runOn(backend: 'wasm' | 'cpu', fn: () => tf.Tensor | tf.Tensor[]): Promise<Arrays> {
  const before = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const out = tf.tidy(fn);
    const list = Array.isArray(out) ? out : [out];
    const arrays = list.map((t) => ({ shape: t.shape, values: new Float32Array(t.dataSync()) }));
    tf.dispose(list);
    return arrays;
  } finally {
    await tf.setBackend(before);
  }
}

export function randomValues(rng: Rng, shape: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = rng.normal();
  return values;
}

/** max |a - b| / max |b| (b is the reference); 0 when both are all zeros. */
export function relativeError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  if (Number.isNaN(diff)) return Infinity;
  return scale === 0 ? diff : diff / scale;
}

/** Spread a filter's taps apart with zeros: a dilated convolution equals an undilated one with this filter. */
export function dilateFilter(
  values: Float32Array,
  shape: number[],
  dilation: [number, number],
): { shape: [number, number, number, number]; values: Float32Array } {
  const [kh, kw, ci, co] = shape;
  const eh = (kh - 1) * dilation[0] + 1;
  const ew = (kw - 1) * dilation[1] + 1;
  const out = new Float32Array(eh * ew * ci * co);
  const plane = ci * co;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const src = (i * kw + j) * plane;
      const dst = (i * dilation[0] * ew + j * dilation[1]) * plane;
      out.set(values.subarray(src, src + plane), dst);
    }
  }
  return { shape: [eh, ew, ci, co], values: out };
}

/**
 * The inverse of `dilateFilter` for a gradient: the taps of a spread filter's gradient at the dilated positions,
 * which are the dilated filter's gradient.
 */
export function dilatedTaps(
  spread: { shape: number[]; values: Float32Array },
  shape: number[],
  dilation: [number, number],
): Float32Array {
  const [kh, kw, ci, co] = shape;
  const plane = ci * co;
  const out = new Float32Array(kh * kw * plane);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const src = (i * dilation[0] * spread.shape[1] + j * dilation[1]) * plane;
      out.set(spread.values.subarray(src, src + plane), (i * kw + j) * plane);
    }
  }
  return out;
}

/** A matrix operand's stored shape when it is used transposed (its last two axes swapped). */
export function transposedShape(shape: number[], flag: boolean): number[] {
  if (!flag) return shape;
  const s = shape.slice();
  [s[s.length - 2], s[s.length - 1]] = [s[s.length - 1], s[s.length - 2]];
  return s;
}
