import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { realDataRoot } from '../test-utils/real-data.js';
import { writePng } from './image-file.js';
import { loadDataset } from './load-dataset.js';
import { scratchDir } from '../test-utils/scratch.js';

describe('loadDataset', () => {
  it('loads built-in datasets by name (test split by default)', async () => {
    const ds = await loadDataset('mnist', { dir: realDataRoot(), download: false });
    expect([ds.name, ds.split, ds.count]).toEqual(['mnist', 'test', 10000]);
  });

  it('loads an image folder by path, resized', async () => {
    const t = { dir: scratchDir() };
    mkdirSync(path.join(t.dir, 'a'));
    await writePng(path.join(t.dir, 'a', 'x.png'), new Uint8Array(16), 4, 4, 1);
    const ds = await loadDataset(t.dir, { imageSize: [2, 2] });
    expect([ds.count, ds.height, ds.classNames[0]]).toEqual([1, 2, 'a']);
  });

  it('rejects unknown names and splits', async () => {
    await expect(loadDataset('imagenet')).rejects.toThrow(/mnist, fashion-mnist, cifar10 or the path/);
    await expect(loadDataset('mnist', { split: 'val' as 'test' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
