import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no gradient functions by itself; tfjs-layers (which advkit's models use anyway) registers
// them all, in its Node bundle and its ESM build alike.
import '@tensorflow/tfjs-layers';
import { AdvkitError, invalidArgument } from '../errors.js';
import { registerBatchNormGradient } from './batch-norm-gradient.js';
import { nativeKernelsAddon } from './native/native-kernels.js';

/**
 * Backends advkit knows how to run on. 'native' is wasm with its convolutions and matrix products on advkit's
 * oneDNN addon (Node, when it was built at install); 'tensorflow' is tfjs-node / tfjs-node-gpu, when installed.
 */
export const BACKEND_NAMES = ['native', 'wasm', 'cpu', 'tensorflow', 'webgl', 'webgpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export function parseBackendName(value: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw invalidArgument(`Unknown backend '${value}'. Expected one of: ${BACKEND_NAMES.join(', ')}.`, {
    backend: value,
  });
}

/** The engine running tfjs now, as reports name it: the tfjs backend, or 'native' for wasm on the addon. */
export function engineName(): string {
  const backend = tf.getBackend();
  return backend === 'wasm' && nativeKernelsAddon() !== undefined ? 'native' : backend;
}

/**
 * Switch tfjs to a backend that has already been registered, with a clear error when it cannot start. 'native'
 * runs on the 'wasm' backend once the addon's kernels are registered (`initNodeBackend` does that).
 */
export async function activateBackend(name: BackendName): Promise<BackendName> {
  if (name === 'native') {
    if (nativeKernelsAddon() === undefined) {
      throw new AdvkitError('UNSUPPORTED', 'The native engine runs in Node only, once its addon is loaded.', {
        backend: name,
      });
    }
    await activateBackend('wasm');
    return name;
  }
  if (tf.findBackendFactory(name) === null) {
    throw new AdvkitError('UNSUPPORTED', `Backend '${name}' is not available in this environment.`, {
      backend: name,
    });
  }
  registerBatchNormGradient();
  const ok = await tf.setBackend(name);
  if (!ok) throw new AdvkitError('UNSUPPORTED', `Backend '${name}' failed to initialize.`, { backend: name });
  await tf.ready();
  return name;
}
