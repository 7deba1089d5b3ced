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

/** Load the native addon once; when it is not there (not built, or oneDNN missing), say why. */
export function loadNativeAddon(): NativeLoad {
  if (loaded !== undefined) return loaded;
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
