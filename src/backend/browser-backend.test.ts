import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBrowserBackend } from './browser-backend.js';

const wasmDir = path.dirname(
  createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'),
);

describe('initBrowserBackend', () => {
  it('skips backends that cannot start here (no WebGL in Node) and lands on wasm with gradient kernels', async () => {
    const name = await initBrowserBackend({ wasmPath: wasmDir + path.sep });
    expect(name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  it('honours an explicit choice and rejects an unknown one', async () => {
    expect(await initBrowserBackend({ backend: 'cpu' })).toBe('cpu');
    await expect(initBrowserBackend({ backend: 'metal' })).rejects.toThrow(/Unknown backend 'metal'/);
  });
});
