import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { downloadFile, type DownloadProgress } from './download.js';
import { scratchDir } from '../test-utils/scratch.js';

const body = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
const md5 = createHash('md5').update(body).digest('hex');
const sha256 = createHash('sha256').update(body).digest('hex');

let server: http.Server;
let base = '';
beforeAll(async () => {
  // A loopback server: the real fetch path, without the network.
  server = http.createServer((req, res) => {
    if (req.url === '/data.bin') {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    } else if (req.url === '/cut.bin') {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, 1000));
      res.destroy();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('downloadFile', () => {
  it('downloads with globalThis.fetch, checks md5 and sha256, reports progress', async () => {
    const dir = scratchDir();
    const progress: DownloadProgress[] = [];
    await downloadFile({ url: `${base}/data.bin`, md5, sha256 }, path.join(dir, 'sub', 'data.bin'), {
      onProgress: (p) => progress.push(p),
    });
    expect(readFileSync(path.join(dir, 'sub', 'data.bin')).equals(body)).toBe(true);
    expect(progress.at(-1)).toEqual({
      url: `${base}/data.bin`,
      receivedBytes: body.length,
      totalBytes: body.length,
    });
    expect(readdirSync(path.join(dir, 'sub'))).toEqual(['data.bin']);
  });

  it('keeps nothing when a checksum does not match', async () => {
    const dir = scratchDir();
    const dest = path.join(dir, 'data.bin');
    await expect(
      downloadFile({ url: `${base}/data.bin`, sha256: '0'.repeat(64) }, dest),
    ).rejects.toMatchObject({
      code: 'CORRUPT_DATA',
    });
    await expect(downloadFile({ url: `${base}/data.bin`, md5: 'f'.repeat(32) }, dest)).rejects.toThrow(/md5/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports HTTP errors, broken transfers and unreachable hosts as NETWORK, keeping nothing', async () => {
    const dir = scratchDir();
    const dest = path.join(dir, 'x.bin');
    await expect(downloadFile({ url: `${base}/missing`, md5 }, dest)).rejects.toMatchObject({
      code: 'NETWORK',
    });
    await expect(downloadFile({ url: `${base}/cut.bin`, md5 }, dest)).rejects.toMatchObject({
      code: 'NETWORK',
    });
    const refused = async (): Promise<Response> => {
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
    };
    await expect(
      downloadFile({ url: 'https://example.invalid/x', md5 }, dest, { fetch: refused }),
    ).rejects.toThrow(/example\.invalid.*ECONNREFUSED/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
