import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { relativeError } from '../kernels/test-utils/wasm-vs-cpu.js';
import { initNodeBackend } from '../node-backend.js';
import { wasmThreadCount } from '../wasm-threads-node.js';
import { registerSimdFilterGradient, simdFilterGradientMode } from './simd-filter-gradient-node.js';
import { filterGradientCases } from './test-utils/filter-gradient-cases.js';
import { filterGradient } from './test-utils/filter-gradient-on.js';

const TOLERANCE = 1e-4;

describe('SIMD filter gradient on threaded wasm', () => {
  beforeAll(async () => {
    expect(await initNodeBackend({ backend: 'wasm', threads: 2 })).toBe('wasm');
    expect(wasmThreadCount()).toBe(2);
  });

  it('runs on tfjs memory with helper threads', () => {
    expect(simdFilterGradientMode(tf.backend() as BackendWasm)).toBe('threads');
  });

  for (const threads of [1, 2]) {
    describe(`${threads} thread(s)`, () => {
      beforeAll(() => registerSimdFilterGradient(threads));
      for (const c of filterGradientCases) {
        it(c.name, async () => {
          const tensors = tf.memory().numTensors;
          const dataIds = tf.backend().numDataIds();
          const wasm = await filterGradient('wasm', c);
          const cpu = await filterGradient('cpu', c);
          expect(relativeError(wasm, cpu)).toBeLessThan(TOLERANCE);
          expect(tf.memory().numTensors).toBe(tensors);
          expect(tf.backend().numDataIds()).toBe(dataIds);
        });
      }
    });
  }
});

// The built package, as a user runs it: the helper thread must not keep a finished process alive.
const builtBackend = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../dist/backend/node-backend.js',
);

describe.skipIf(!fs.existsSync(builtBackend))('a Node process using the SIMD filter gradient', () => {
  it('exits by itself after running it on two threads', () => {
    const script = `
      const { initNodeBackend, tf } = await import(${JSON.stringify(pathToFileURL(builtBackend).href)});
      await initNodeBackend({ backend: 'wasm', threads: 2 });
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, filterShape: [3, 3, 3, 5] };
      const g = tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.ones([4, 8, 8, 3]), dy: tf.ones([4, 8, 8, 5]) }, attrs);
      console.log(g.dataSync()[4 * 15]);`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.error).toBeUndefined();
    expect(run.status).toBe(0);
    // the centre tap sees every pixel of every image: 4 * 8 * 8
    expect(run.stdout.trim()).toBe('256');
  });
});
