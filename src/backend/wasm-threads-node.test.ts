import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdvkitError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { initNodeBackend } from './node-backend.js';
import { resolveThreadCount, wasmThreadCount } from './wasm-threads-node.js';

describe('resolveThreadCount', () => {
  it('reads ADVKIT_THREADS and defaults to the number of cores', () => {
    expect(resolveThreadCount('3')).toBe(3);
    expect(resolveThreadCount(undefined)).toBe(os.availableParallelism());
    expect(resolveThreadCount(' ')).toBe(os.availableParallelism());
  });

  it('rejects values that are not positive integers', () => {
    for (const bad of ['0', '-2', '1.5', 'many']) {
      expect(() => resolveThreadCount(bad)).toThrow(AdvkitError);
      try {
        resolveThreadCount(bad);
      } catch (err) {
        expect((err as AdvkitError).code).toBe('INVALID_ARGUMENT');
      }
    }
  });
});

describe('wasm with two threads in Node', () => {
  beforeAll(async () => {
    expect(await initNodeBackend({ backend: 'wasm', threads: 2 })).toBe('wasm');
  });

  it('runs XNNPACK on two threads', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(wasmThreadCount()).toBe(2);
  });

  it('computes the same convolution gradients as cpu', async () => {
    const rng = new Rng(1);
    const xv = Float32Array.from({ length: 4 * 12 * 12 * 3 }, () => rng.normal());
    const wv = Float32Array.from({ length: 3 * 3 * 3 * 8 }, () => rng.normal());
    const grads = () =>
      tf.tidy(() => {
        const f = (x: tf.Tensor, w: tf.Tensor) =>
          tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')));
        return tf
          .grads(f)([tf.tensor4d(xv, [4, 12, 12, 3]), tf.tensor4d(wv, [3, 3, 3, 8])])
          .map((g) => g.dataSync());
      });
    const wasm = grads();
    await tf.setBackend('cpu');
    const cpu = grads();
    await tf.setBackend('wasm');
    for (let i = 0; i < 2; i++) {
      const scale = Math.max(...cpu[i].map(Math.abs));
      const diff = Math.max(...cpu[i].map((v, j) => Math.abs(v - wasm[i][j])));
      expect(diff / scale).toBeLessThan(1e-4);
    }
  });
});

// The built package, as a user runs it: a fresh Node process must finish on its own once its work is done
// (emscripten's pthread workers would otherwise keep it alive). `npm test` builds dist first.
const builtBackend = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../dist/backend/node-backend.js',
);

describe.skipIf(!fs.existsSync(builtBackend))('a Node process on threaded wasm', () => {
  it('exits by itself after computing a gradient', () => {
    const script = `
      import('@tensorflow/tfjs-layers').then(() => import(${JSON.stringify(pathToFileURL(builtBackend).href)}))
        .then(async ({ initNodeBackend, tf }) => {
          await initNodeBackend({ backend: 'wasm', threads: 2 });
          const g = tf.grad((x) => tf.sum(tf.conv2d(x, tf.ones([3, 3, 1, 4]), 1, 'same')))(tf.ones([2, 8, 8, 1]));
          console.log(JSON.stringify({ backend: tf.getBackend(), sum: tf.sum(g).dataSync()[0] }));
        });`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: path.dirname(builtBackend),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.error).toBeUndefined();
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as {
      backend: string;
      sum: number;
    };
    expect(result.backend).toBe('wasm');
    // every input pixel of an 8x8 image is covered by 9, 6 or 4 taps of the 3x3 'same' window, times 4 filters
    expect(result.sum).toBe(2 * 4 * (6 * 6 * 9 + 4 * 6 * 6 + 4 * 4));
  });
});
