import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

import { subset } from '../subset.js';
import { realDataRoot, withDataEnv } from '../test-utils/real-data.js';
import { cifarBytes } from '../test-utils/synthetic.js';
import { loadCifar10 } from './cifar10.js';
import { readImageFile } from './image-file.js';
import { scratchDir, caughtAdvkitError } from '../test-utils/scratch.js';

const cifarDir = path.join(realDataRoot(), 'cifar10');

describe('loadCifar10 on the real files', () => {
  it('loads the 50000 training images in order', async () => {
    const ds = await loadCifar10({ split: 'train', dir: cifarDir, download: false });
    expect([ds.count, ds.height, ds.width, ds.channels]).toEqual([50000, 32, 32, 3]);
    expect(ds.pixels.length).toBe(50000 * 3072);
    expect(Array.from(ds.labels.subarray(0, 10))).toEqual([6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
    const counts = new Array(10).fill(0);
    for (const l of ds.labels.subarray(0, 10000)) counts[l]++;
    expect(counts).toEqual([1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981]);
    expect(ds.classNames[3]).toBe('cat');
    expect(ds.notes).toBeUndefined();
  });

  it('loads the partial test set (first 1000 images) and says it is partial', async () => {
    const ds = await withDataEnv({ advkitData: realDataRoot(), cacheHome: scratchDir() }, () =>
      loadCifar10({ split: 'test', download: false }),
    );
    expect(ds.count).toBe(1000);
    expect(Array.from(ds.labels.subarray(0, 20))).toEqual([
      3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6,
    ]);
    expect(ds.notes?.join(' ')).toMatch(/partial test set: 1000 of the 10000/);
    // The seeds' binary task: cat vs airplane, relabelled 0/1.
    const binary = subset(ds, { classes: ['cat', 'airplane'], relabel: true });
    expect(binary.classNames).toEqual(['cat', 'airplane']);
    expect(binary.count).toBe(ds.labels.filter((l) => l === 3 || l === 0).length);
    // test images 0 (cat), 3 (airplane), 8 (cat), 10 (airplane)
    expect(Array.from(binary.labels.subarray(0, 4))).toEqual([0, 1, 0, 1]);
    // Test image 0 is pixel-identical to foolbox's cifar10_00_3.png.
    const png = await readImageFile(path.join(cifarDir, 'samples-foolbox', 'cifar10_00_3.png'));
    expect(png.channels).toBe(3);
    expect(Buffer.from(ds.pixels.subarray(0, 3072)).equals(Buffer.from(png.pixels))).toBe(true);
  });
});

describe('loadCifar10 errors', () => {
  function partialTestDir(labels: Uint8Array): string {
    const dir = scratchDir();
    copyFileSync(
      path.join(cifarDir, 'test_batch.first20.bin.gz'),
      path.join(dir, 'test_batch.first1000.bin.gz'),
    );
    writeFileSync(path.join(dir, 'test_batch.labels.bin'), labels);
    return dir;
  }
  const realLabels = (): Uint8Array =>
    new Uint8Array(readFileSync(path.join(cifarDir, 'test_batch.labels.bin')));

  it('checks the partial batch against the labels file', async () => {
    const ok = await loadCifar10({ split: 'test', dir: partialTestDir(realLabels()), download: false });
    expect(ok.count).toBe(20);
    expect(ok.notes?.[0]).toContain('20 of the 10000');
    const swapped = realLabels();
    swapped[5] = (swapped[5] + 1) % 10;
    const err = await caughtAdvkitError(
      loadCifar10({ split: 'test', dir: partialTestDir(swapped), download: false }),
    );
    expect(err.code).toBe('CORRUPT_DATA');
    expect(err.message).toContain('disagree at test image 5');
    const short = await caughtAdvkitError(
      loadCifar10({ split: 'test', dir: partialTestDir(realLabels().subarray(0, 9999)), download: false }),
    );
    expect(short.message).toContain('expected 10000 test labels');
  });

  it('rejects a full test batch that is cut at a record boundary', async () => {
    const dir = scratchDir();
    writeFileSync(path.join(dir, 'test_batch.bin.gz'), gzipSync(cifarBytes([1, 2, 3])));
    const err = await caughtAdvkitError(loadCifar10({ split: 'test', dir, download: false }));
    expect(err.code).toBe('CORRUPT_DATA');
    expect(err.message).toMatch(/test_batch\.bin\.gz: holds 3 images; expected 10000/);
  });

  it('rejects a corrupt gzip batch, naming it', async () => {
    const dir = scratchDir();
    writeFileSync(path.join(dir, 'test_batch.bin.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7]));
    const err = await caughtAdvkitError(loadCifar10({ split: 'test', dir, download: false }));
    expect(err.code).toBe('CORRUPT_DATA');
    expect(err.message).toContain(path.join(dir, 'test_batch.bin.gz'));
  });

  it('discards a downloaded archive with a wrong checksum', async () => {
    const cache = scratchDir();
    const fetch = async (): Promise<Response> => new Response(gzipSync(Buffer.from('not cifar')));
    const err = await withDataEnv({ cacheHome: cache }, () =>
      caughtAdvkitError(loadCifar10({ split: 'train', dir: scratchDir(), fetch })),
    );
    expect(err.code).toBe('CORRUPT_DATA');
    expect(err.message).toContain('cifar-10-binary.tar.gz');
    const datasetDir = path.join(cache, 'advkit', 'datasets', 'cifar10');
    expect(existsSync(datasetDir) ? readdirSync(datasetDir) : []).toEqual([]);
  });
});
