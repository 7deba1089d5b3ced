import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { relativeError, startWasmWithAdvkitKernels } from '../kernels/test-utils/wasm-vs-cpu.js';
import { registerSimdFilterGradient, simdFilterGradientMode } from './simd-filter-gradient-node.js';
import { filterGradientCases } from './test-utils/filter-gradient-cases.js';
import { filterGradient } from './test-utils/filter-gradient-on.js';

// The stock single-threaded wasm build: its memory is not shared, so the kernel runs on the main thread alone
// even when two threads are asked for.
describe('SIMD filter gradient on single-threaded wasm', () => {
  beforeAll(async () => {
    await startWasmWithAdvkitKernels();
    registerSimdFilterGradient(2);
  });

  it('runs on the main thread', () => {
    expect(simdFilterGradientMode(tf.backend() as BackendWasm)).toBe('main-thread');
  });

  for (const c of filterGradientCases) {
    it(c.name, async () => {
      const tensors = tf.memory().numTensors;
      const wasm = await filterGradient('wasm', c);
      const cpu = await filterGradient('cpu', c);
      expect(relativeError(wasm, cpu)).toBeLessThan(1e-4);
      expect(tf.memory().numTensors).toBe(tensors);
    });
  }
});
