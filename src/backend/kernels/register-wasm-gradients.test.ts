import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmGradientKernels, WASM_GRADIENT_KERNELS } from './register-wasm-gradients.js';
import { startWasmWithAdvkitKernels } from './test-utils/wasm-vs-cpu.js';

beforeAll(startWasmWithAdvkitKernels);

describe('registerWasmGradientKernels', () => {
  it('registers every kernel once and is idempotent', () => {
    const names = Object.keys(WASM_GRADIENT_KERNELS);
    const before = names.map((name) => tf.getKernel(name, 'wasm')?.kernelFunc);
    registerWasmGradientKernels();
    registerWasmGradientKernels();
    expect(names.map((name) => tf.getKernel(name, 'wasm')?.kernelFunc)).toEqual(before);
    expect(before.every((f) => f !== undefined)).toBe(true);
  });

  it('gives conv2d a filter gradient on wasm, which the stock backend lacks', () => {
    expect(tf.getBackend()).toBe('wasm');
    const dw = tf.tidy(() =>
      tf.grad((w: tf.Tensor) =>
        tf.sum(
          tf.conv2d(tf.tensor4d(new Float32Array(16).fill(1), [1, 4, 4, 1]), w as tf.Tensor4D, 1, 'valid'),
        ),
      )(tf.ones([3, 3, 1, 1])),
    );
    // each of the 9 taps sees the 2x2 output positions of an all-ones image
    expect(Array.from(dw.dataSync())).toEqual(new Array(9).fill(4));
    dw.dispose();
  });
});
