/** Where the real datasets are for tests: $ADVKIT_DATA, else ../shared/datasets beside the repository. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function realDataRoot(): string {
  return process.env.ADVKIT_DATA || path.resolve(repoRoot, '../shared/datasets');
}

/** A fresh temporary directory and a function that removes it. */
export function tempDir(prefix = 'advkit-data-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Runs the test body with ADVKIT_DATA and the cache dir pointed at the given places (undefined unsets ADVKIT_DATA)
 * and ADVKIT_OFFLINE=1 if `offline`, restoring the environment afterwards.
 */
export async function withDataEnv<T>(
  env: { advkitData?: string; cacheHome: string; offline?: boolean },
  body: () => Promise<T>,
): Promise<T> {
  const saved = {
    ADVKIT_DATA: process.env.ADVKIT_DATA,
    XDG_CACHE_HOME: process.env.XDG_CACHE_HOME,
    LOCALAPPDATA: process.env.LOCALAPPDATA,
    ADVKIT_OFFLINE: process.env.ADVKIT_OFFLINE,
  };
  const set = (key: keyof typeof saved, value: string | undefined): void => {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  };
  set('ADVKIT_DATA', env.advkitData);
  set('XDG_CACHE_HOME', env.cacheHome);
  set('LOCALAPPDATA', env.cacheHome);
  set('ADVKIT_OFFLINE', env.offline ? '1' : undefined);
  try {
    return await body();
  } finally {
    for (const key of Object.keys(saved) as (keyof typeof saved)[]) set(key, saved[key]);
  }
}
