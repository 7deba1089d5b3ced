import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError } from '../errors.js';
import { activateBackend, parseBackendName, type BackendName } from './backend.js';
import { registerWasmGradientKernels } from './kernels/register-wasm-gradients.js';

/** Tried in this order; webgpu only when the page has registered @tensorflow/tfjs-backend-webgpu. */
export const BROWSER_BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

export interface BrowserBackendOptions {
  /** An explicit backend; otherwise the first of BROWSER_BACKEND_ORDER that starts. */
  backend?: string;
  /** Where the tfjs wasm binaries are served from (see setWasmPaths); default: next to the page's script. */
  wasmPath?: string;
}

/**
 * Start a tfjs backend in a browser: webgpu, webgl, wasm (with advkit's gradient kernels) or cpu, the first
 * that starts, or the one asked for. Returns its name.
 */
export async function initBrowserBackend(options: BrowserBackendOptions = {}): Promise<BackendName> {
  registerWasmGradientKernels();
  if (options.wasmPath !== undefined) {
    const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm');
    setWasmPaths(options.wasmPath);
  }
  if (options.backend !== undefined) return activateBackend(parseBackendName(options.backend));
  const failures: string[] = [];
  for (const name of BROWSER_BACKEND_ORDER) {
    if (tf.findBackendFactory(name) === null) continue;
    try {
      return await activateBackend(name);
    } catch (err) {
      failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new AdvkitError('UNSUPPORTED', `No tfjs backend could start here (${failures.join('; ')}).`);
}
