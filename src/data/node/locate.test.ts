import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withDataEnv } from '../test-utils/real-data.js';
import { resolveDataDir, userCacheDir } from './locate.js';
import { scratchDir } from '../test-utils/scratch.js';

describe('resolveDataDir', () => {
  it('lists the explicit dir, then ADVKIT_DATA, then the user cache', async () => {
    const t = { dir: scratchDir() };
    const dirs = await withDataEnv({ advkitData: 'rel/data', cacheHome: t.dir }, async () =>
      resolveDataDir('given'),
    );
    const cache =
      process.platform === 'win32'
        ? path.join(t.dir, 'advkit', 'datasets')
        : path.join(t.dir, 'advkit', 'datasets');
    expect(dirs).toEqual([path.resolve('given'), path.resolve('rel/data'), cache]);
    const onlyCache = await withDataEnv({ cacheHome: t.dir }, async () => [resolveDataDir(), userCacheDir()]);
    expect(onlyCache).toEqual([[cache], cache]);
  });
});
