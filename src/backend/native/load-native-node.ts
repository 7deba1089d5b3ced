import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { packageRoot } from '../../util/node/package-root.js';
import type { NativeAddon } from './native-addon.js';

const require = createRequire(import.meta.url);

/** Where `npm install` builds the addon (scripts/build-native.mjs, node-gyp in native/). */
export function nativeAddonPath(): string {
  return path.join(packageRoot(), 'native', 'build', 'Release', 'advkit_native.node');
}

export type NativeLoad = { addon: NativeAddon } | { reason: string };

let loaded: NativeLoad | undefined;

/**
 * Load the native addon once; when it is not there (not built, or oneDNN missing), say why.
 *
 * oneDNN runs on OpenMP, whose threads by default spin for a while after each parallel region. Between two
 * kernels tfjs runs JavaScript and wasm on the main thread, and on a machine with other work (two vitest
 * workers, a server's other requests) spinning threads take the cores that thread needs: a gradient step was
 * measured 1.3-2.6x slower than with sleeping threads (bench/engine/omp-wait.mjs). So threads sleep when idle
 * (OMP_WAIT_POLICY=PASSIVE) unless the user set OpenMP's wait policy or spin count; libgomp reads both when the
 * addon loads it.
 */
export function loadNativeAddon(): NativeLoad {
  if (loaded !== undefined) return loaded;
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) {
    process.env.OMP_WAIT_POLICY = 'PASSIVE';
  }
  const file = nativeAddonPath();
  if (!fs.existsSync(file)) {
    loaded = {
      reason: `the native engine was not built at install (no ${path.relative(packageRoot(), file)})`,
    };
    return loaded;
  }
  try {
    loaded = { addon: require(file) as NativeAddon };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    loaded = { reason: `the native engine failed to load: ${message}` };
  }
  return loaded;
}
