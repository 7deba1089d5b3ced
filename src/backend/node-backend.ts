import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';
import { AdvkitError } from '../errors.js';
import { activateBackend, parseBackendName, type BackendName } from './backend.js';
import { registerWasmGradientKernels } from './kernels/register-wasm-gradients.js';
import { loadNativeAddon } from './native/load-native-node.js';
import { registerNativeKernels } from './native/native-kernels.js';
import { registerSimdFilterGradient } from './simd/simd-filter-gradient-node.js';
import { resolveThreadCount, useThreadedWasm } from './wasm-threads-node.js';

const require = createRequire(import.meta.url);

let wasmPathsSet = false;

function pointWasmAtPackageFiles(): void {
  if (wasmPathsSet) return;
  const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  setWasmPaths(dir + path.sep);
  wasmPathsSet = true;
}

/**
 * wasm with advkit's gradient kernels (the filter gradient as advkit's own SIMD kernel, Node-only since it
 * starts helper threads) and, when more than one thread is asked for, the threaded build.
 */
function prepareWasm(threads: number): void {
  pointWasmAtPackageFiles();
  registerWasmGradientKernels();
  registerSimdFilterGradient(threads);
  useThreadedWasm(threads);
}

/**
 * wasm with its convolutions and matrix products on the native addon (oneDNN, `threads` OpenMP threads). wasm
 * itself stays single-threaded: what is left on it is element-wise work that its thread pool does not split,
 * and its threads would compete with oneDNN's for the cores. Throws when the addon is not there, saying why.
 */
function prepareNative(threads: number): void {
  const load = loadNativeAddon();
  if ('reason' in load) {
    throw new AdvkitError(
      'UNSUPPORTED',
      `The native engine is not available: ${load.reason}. Rebuild it with 'npm rebuild advkit' after installing ` +
        "a C++ compiler and oneDNN (Debian: 'apt-get install g++ make libdnnl-dev'), or use --backend wasm.",
      { backend: 'native' },
    );
  }
  pointWasmAtPackageFiles();
  registerWasmGradientKernels();
  registerNativeKernels(load.addon);
  load.addon.setThreads(threads);
}

async function tryLoadTfjsNode(): Promise<boolean> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      return true;
    } catch {
      // not installed: optional
    }
  }
  return false;
}

export interface NodeBackendOptions {
  /**
   * Explicit choice; otherwise ADVKIT_BACKEND; otherwise tensorflow if installed, then native (when its addon
   * was built at install), then wasm, then cpu.
   */
  backend?: string;
  /** Threads for the native engine or wasm; otherwise ADVKIT_THREADS; otherwise the number of cores. */
  threads?: number;
}

/**
 * Start the tfjs backend for Node. Default order: tfjs-node (if the user installed it), native, wasm, cpu.
 * On wasm, advkit's fast gradient kernels are registered and both cores are used when available.
 * Returns the name of the engine in use.
 */
export async function initNodeBackend(options: NodeBackendOptions = {}): Promise<BackendName> {
  const requested = options.backend ?? process.env.ADVKIT_BACKEND;
  const threads = (): number => options.threads ?? resolveThreadCount();
  if (requested !== undefined && requested !== '') {
    const name = parseBackendName(requested);
    if (name === 'tensorflow') await tryLoadTfjsNode();
    if (name === 'native') prepareNative(threads());
    if (name === 'wasm') prepareWasm(threads());
    return activateBackend(name);
  }
  if (await tryLoadTfjsNode()) return activateBackend('tensorflow');
  const count = threads();
  if (!('reason' in loadNativeAddon())) {
    prepareNative(count);
    return activateBackend('native');
  }
  try {
    prepareWasm(count);
    return await activateBackend('wasm');
  } catch {
    return activateBackend('cpu');
  }
}

export { tf };
