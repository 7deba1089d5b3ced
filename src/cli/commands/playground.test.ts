import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';
import { startPlayground } from './playground.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'advkit-playground-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('advkit playground', () => {
  it('refuses to start before the site is built, saying how to build it (exit 2)', async () => {
    const r = await runCli('playground', '--dir', path.join(tmp, 'not-built'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('The playground is not built');
    expect(r.stderr).toContain('npm run build:web');
    const port = await runCli('playground', '--port', 'eighty');
    expect(port.code).toBe(2);
    expect(port.stderr).toContain("--port must be an integer from 0 to 65535, got 'eighty'");
  });

  it('serves the built site with its content types, and nothing outside it', async () => {
    const site = path.join(tmp, 'site');
    mkdirSync(path.join(site, 'wasm'), { recursive: true });
    writeFileSync(path.join(site, 'index.html'), '<!doctype html><title>playground</title>');
    writeFileSync(path.join(site, 'wasm', 'tfjs-backend-wasm.wasm'), Buffer.from([0, 97, 115, 109]));
    writeFileSync(path.join(site, '.env'), 'SECRET=1');
    writeFileSync(path.join(tmp, 'outside.txt'), 'outside');
    const server = await startPlayground({ port: '0', host: '127.0.0.1', dir: site });
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const index = await fetch(`${base}/?model=mnist-cnn&run=1`);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await index.text()).toContain('playground');
      const wasm = await fetch(`${base}/wasm/tfjs-backend-wasm.wasm`);
      expect(wasm.headers.get('content-type')).toBe('application/wasm');
      expect(new Uint8Array(await wasm.arrayBuffer())).toEqual(new Uint8Array([0, 97, 115, 109]));
      for (const p of [
        '/../outside.txt',
        '/%2e%2e/outside.txt',
        '/..%2Foutside.txt',
        '/.env',
        '/missing.js',
        '/%E0%A4%A',
      ]) {
        expect((await fetch(`${base}${p}`)).status, p).toBe(404);
      }
      expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(405);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
