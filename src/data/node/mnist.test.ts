import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

import { realDataRoot, withDataEnv } from '../test-utils/real-data.js';
import { idxBytes } from '../test-utils/synthetic.js';
import type { FetchLike } from './download.js';
import { loadMnist } from './mnist.js';
import { scratchDir, caughtAdvkitError } from '../test-utils/scratch.js';

const mnistDir = path.join(realDataRoot(), 'mnist');

/** A fetch that serves files of a local directory by the last part of the URL. */
function fakeFetch(dir: string, alter?: (b: Buffer) => Buffer): FetchLike & { urls: string[] } {
  const urls: string[] = [];
  const fn = async (url: string): Promise<Response> => {
    urls.push(url);
    const file = path.join(dir, url.split('/').at(-1) ?? '');
    if (!existsSync(file)) return new Response('no such file', { status: 404, statusText: 'Not Found' });
    const bytes = readFileSync(file);
    return new Response(new Uint8Array(alter ? alter(bytes) : bytes));
  };
  return Object.assign(fn, { urls });
}

const offline: FetchLike = async () => {
  throw new TypeError('fetch failed', {
    cause: new Error('getaddrinfo ENOTFOUND ossci-datasets.s3.amazonaws.com'),
  });
};

describe('loadMnist on the real files', () => {
  it('loads the test split: 10000 x 28x28x1 with the known first labels', async () => {
    const ds = await loadMnist({ split: 'test', dir: mnistDir, download: false });
    expect([ds.count, ds.height, ds.width, ds.channels]).toEqual([10000, 28, 28, 1]);
    expect(Array.from(ds.labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    expect(ds.pixels.length).toBe(10000 * 784);
    expect(ds.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(ds.notes).toBeUndefined();
  });

  it('loads the train split (60000) through ADVKIT_DATA', async () => {
    const ds = await withDataEnv({ advkitData: realDataRoot(), cacheHome: scratchDir() }, () =>
      loadMnist({ split: 'train', download: false }),
    );
    expect(ds.count).toBe(60000);
    expect(Array.from(ds.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  });

  it('accepts raw (not gzipped) files named like train-images.idx3-ubyte', async () => {
    const dir = scratchDir();
    for (const [from, to] of [
      ['t10k-images-idx3-ubyte.gz', 't10k-images.idx3-ubyte'],
      ['t10k-labels-idx1-ubyte.gz', 't10k-labels.idx1-ubyte'],
    ]) {
      writeFileSync(path.join(dir, to), gunzipSync(readFileSync(path.join(mnistDir, from))));
    }
    const ds = await loadMnist({ split: 'test', dir, download: false });
    expect(ds.count).toBe(10000);
    expect(ds.labels[0]).toBe(7);
  });
});

describe('loadMnist errors', () => {
  it('names the file when it is truncated', async () => {
    const dir = scratchDir();
    const gz = readFileSync(path.join(mnistDir, 't10k-labels-idx1-ubyte.gz'));
    writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'), gz.subarray(0, gz.length - 100));
    writeFileSync(
      path.join(dir, 't10k-images-idx3-ubyte.gz'),
      readFileSync(path.join(mnistDir, 't10k-images-idx3-ubyte.gz')),
    );
    const err = await caughtAdvkitError(loadMnist({ split: 'test', dir, download: false }));
    expect(err.code).toBe('CORRUPT_DATA');
    expect(err.message).toContain(path.join(dir, 't10k-labels-idx1-ubyte.gz'));
  });

  it('rejects an image/label count mismatch', async () => {
    const dir = scratchDir();
    writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), idxBytes(2051, [3, 2, 2], new Uint8Array(12)));
    writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idxBytes(2049, [2], [1, 2])));
    const err = await caughtAdvkitError(loadMnist({ split: 'test', dir, download: false }));
    expect(err.code).toBe('CORRUPT_DATA');
    expect(err.message).toMatch(/3 images.*2 labels/);
  });

  it('offline: says every place it looked, the files it wants, and how to provide them', async () => {
    const cache = scratchDir();
    const explicit = scratchDir();
    const err = await withDataEnv({ advkitData: path.join(explicit, 'env'), cacheHome: cache }, () =>
      caughtAdvkitError(loadMnist({ split: 'test', dir: explicit, download: true, fetch: offline })),
    );
    expect(err.code).toBe('NETWORK');
    for (const place of [
      path.join(explicit, 'mnist'),
      path.join(explicit, 'env', 'mnist'),
      path.join(cache, 'advkit', 'datasets', 'mnist'),
    ]) {
      expect(err.message).toContain(place);
    }
    expect(err.message).toContain('t10k-images-idx3-ubyte[.gz]');
    expect(err.message).toContain('ADVKIT_DATA');
    expect(err.message).toContain('--data-dir');
    expect(err.message).toContain('ENOTFOUND');
  });

  it('with downloads off: NOT_FOUND, naming what is missing where (Fashion-MNIST has labels only)', async () => {
    const err = await withDataEnv({ advkitData: realDataRoot(), cacheHome: scratchDir() }, () =>
      caughtAdvkitError(loadMnist({ variant: 'fashion-mnist', split: 'test', download: false })),
    );
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain(
      `${path.join(realDataRoot(), 'fashion-mnist')} (ADVKIT_DATA): missing t10k-images-idx3-ubyte[.gz]`,
    );
  });
});

describe('loadMnist downloads', () => {
  it('downloads into the user cache (asked explicitly: else the bundled sample), checks the checksums', async () => {
    const cache = scratchDir();
    const fetch = fakeFetch(mnistDir);
    const ds = await withDataEnv({ cacheHome: cache }, () =>
      loadMnist({ split: 'test', dir: scratchDir(), download: true, fetch }),
    );
    expect(ds.count).toBe(10000);
    expect(fetch.urls).toEqual([
      'https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz',
      'https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz',
    ]);
    expect(readdirSync(path.join(cache, 'advkit', 'datasets', 'mnist')).sort()).toEqual([
      't10k-images-idx3-ubyte.gz',
      't10k-labels-idx1-ubyte.gz',
    ]);
    // The second time the cache is used, without the network.
    const again = await withDataEnv({ cacheHome: cache }, () => loadMnist({ split: 'test', fetch: offline }));
    expect(again.labels[0]).toBe(7);
  });

  it('rejects a download whose checksum does not match and leaves nothing behind', async () => {
    const cache = scratchDir();
    const fetch = fakeFetch(mnistDir, (b) => {
      const copy = Buffer.from(b);
      copy[copy.length - 1] ^= 1;
      return copy;
    });
    const err = await withDataEnv({ cacheHome: cache }, () =>
      caughtAdvkitError(loadMnist({ split: 'test', dir: scratchDir(), download: true, fetch })),
    );
    expect(err.code).toBe('CORRUPT_DATA');
    expect(err.message).toMatch(/md5 .* expected 9fb629c4189551a2d022fa330f9573f3/);
    const datasetDir = path.join(cache, 'advkit', 'datasets', 'mnist');
    expect(existsSync(datasetDir) ? readdirSync(datasetDir) : []).toEqual([]);
  });

  it('reports an HTTP error as NETWORK', async () => {
    const empty = scratchDir();
    mkdirSync(path.join(empty, 'x'));
    const err = await withDataEnv({ cacheHome: scratchDir() }, () =>
      caughtAdvkitError(loadMnist({ split: 'train', dir: empty, fetch: fakeFetch(empty) })),
    );
    expect(err.code).toBe('NETWORK');
    expect(err.message).toContain('HTTP 404');
  });
});
