import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../util/node/package-root.js';
import { realDataRoot, withDataEnv } from '../test-utils/real-data.js';
import { caughtAdvkitError, scratchDir } from '../test-utils/scratch.js';
import type { FetchLike } from './download.js';
import { loadDataset } from './load-dataset.js';

const realMnist = path.join(realDataRoot(), 'mnist', 't10k-images-idx3-ubyte.gz');
const realCifar = path.join(realDataRoot(), 'cifar10', 'test_batch.first1000.bin.gz');
const haveRealData = existsSync(realMnist) && existsSync(realCifar);

/** A fetch that records the URLs asked for and fails as if offline. */
function recordingOffline(): FetchLike & { urls: string[] } {
  const urls: string[] = [];
  const fn = async (url: string): Promise<Response> => {
    urls.push(url);
    throw new TypeError('fetch failed', { cause: new Error('getaddrinfo ENOTFOUND example.org') });
  };
  return Object.assign(fn, { urls });
}

/** Nothing anywhere: an empty explicit dir, no ADVKIT_DATA, an empty user cache. */
function withNoData<T>(body: (dir: string) => Promise<T>, offline = true): Promise<T> {
  const dir = scratchDir();
  return withDataEnv({ cacheHome: scratchDir(), offline }, () => body(dir));
}

describe('bundled samples: the test split when no files are found', () => {
  it('mnist: the first 1,000 test images, marked as a sample (offline)', async () => {
    const ds = await withNoData((dir) => loadDataset('mnist', { split: 'test', dir }));
    expect([ds.name, ds.split, ds.count, ds.height, ds.channels]).toEqual(['mnist', 'test', 1000, 28, 1]);
    expect(ds.sample).toMatchObject({ count: 1000, fullCount: 10000 });
    expect(ds.sample?.description).toBe('the first 1,000 of the 10,000 MNIST test images');
    expect(ds.notes).toEqual([
      'bundled sample: the first 1,000 of the 10,000 MNIST test images (set ADVKIT_DATA or --data-dir for the full set)',
    ]);
    expect(Array.from(ds.labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  });

  it('cifar10: the first 200 test images, marked as a sample (offline)', async () => {
    const ds = await withNoData((dir) => loadDataset('cifar10', { split: 'test', dir }));
    expect([ds.name, ds.split, ds.count, ds.height, ds.channels]).toEqual(['cifar10', 'test', 200, 32, 3]);
    expect(ds.sample).toMatchObject({ count: 200, fullCount: 10000 });
    expect(ds.notes?.[0]).toContain('bundled sample: the first 200 of the 10,000 CIFAR-10 test images');
    expect(ds.sample?.provide).toContain('cifar-10-binary.tar.gz');
    expect(Array.from(ds.labels.subarray(0, 5))).toEqual([3, 8, 8, 0, 6]);
  });

  it('is used before any download is tried; an explicit download: true asks for the full files', async () => {
    const fetch = recordingOffline();
    const ds = await withNoData((dir) => loadDataset('mnist', { dir, fetch }), false);
    expect(ds.count).toBe(1000);
    expect(fetch.urls).toEqual([]);
    const err = await withNoData((dir) =>
      caughtAdvkitError(loadDataset('mnist', { dir, download: true, fetch })),
    );
    expect(err.code).toBe('NETWORK');
    expect(fetch.urls).toHaveLength(1);
  });

  it('the train split is not served from a sample: a clear not-found error, offline', async () => {
    for (const name of ['mnist', 'cifar10']) {
      const err = await withNoData((dir) => caughtAdvkitError(loadDataset(name, { split: 'train', dir })));
      expect(err.code).toBe('NOT_FOUND');
      expect(err.message).toMatch(/train split not found\. Looked in:/);
      expect(err.message).toContain('ADVKIT_DATA=<dir> or pass --data-dir <dir>');
      expect(err.message).toContain('Downloads are off');
      expect(err.message).toContain('bundles a sample of the');
      expect(err.message).toContain('test split only; the train split needs the full files.');
    }
  });

  it.skipIf(!haveRealData)('full files still win over the sample, also offline', async () => {
    const ds = await withDataEnv({ advkitData: realDataRoot(), cacheHome: scratchDir(), offline: true }, () =>
      loadDataset('mnist'),
    );
    expect([ds.count, ds.sample, ds.notes]).toEqual([10000, undefined, undefined]);
  });

  it.skipIf(!haveRealData)('each sample equals the first images and labels of the full files', async () => {
    for (const [name, n] of [
      ['mnist', 1000],
      ['cifar10', 200],
    ] as const) {
      const sample = await withNoData((dir) => loadDataset(name, { dir }));
      const full = await loadDataset(name, { dir: realDataRoot(), download: false });
      expect(sample.count).toBe(n);
      const size = sample.height * sample.width * sample.channels;
      expect(Buffer.from(sample.pixels).equals(Buffer.from(full.pixels.subarray(0, n * size)))).toBe(true);
      expect(Array.from(sample.labels)).toEqual(Array.from(full.labels.subarray(0, n)));
    }
  });

  it.skipIf(!haveRealData)('scripts/build-samples.mjs rebuilds the committed files byte for byte', () => {
    const out = scratchDir();
    const root = packageRoot();
    execFileSync(
      process.execPath,
      [path.join(root, 'scripts', 'build-samples.mjs'), '--data', realDataRoot(), '--out', out],
      { stdio: 'pipe' },
    );
    for (const file of [
      'mnist/t10k-images-idx3-ubyte.first1000.gz',
      'mnist/t10k-labels-idx1-ubyte.first1000.gz',
      'cifar10/test_batch.first200.bin.gz',
    ]) {
      expect(readFileSync(path.join(out, file)).equals(readFileSync(path.join(root, 'samples', file)))).toBe(
        true,
      );
    }
  });
});
