import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildServer } from './app.js';
import { ModelCatalog } from './model-catalog.js';

const site = mkdtempSync(path.join(os.tmpdir(), 'advkit-site-'));
afterAll(() => rmSync(site, { recursive: true, force: true }));

describe('the playground served at /', () => {
  it('serves the built site without a key, keeps the API routes and their keys, and refuses paths outside it', async () => {
    writeFileSync(path.join(site, 'index.html'), '<!doctype html><title>advkit playground</title>');
    mkdirSync(path.join(site, 'wasm'));
    writeFileSync(path.join(site, 'wasm', 'k.wasm'), new Uint8Array([0, 97, 115, 109]));
    const app = await buildServer({
      catalog: await ModelCatalog.open({}),
      apiKeys: ['0123456789abcdef-key'],
      siteDir: site,
    });
    try {
      const page = await app.inject({ method: 'GET', url: '/?model=mnist-cnn&run=1' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toContain('text/html');
      expect(page.body).toContain('advkit playground');
      const wasm = await app.inject({ method: 'GET', url: '/wasm/k.wasm' });
      expect(wasm.headers['content-type']).toBe('application/wasm');
      // The API keeps its exact routes, and its key.
      expect((await app.inject({ method: 'GET', url: '/v1/models' })).statusCode).toBe(401);
      for (const url of ['/../package.json', '/%2e%2e/package.json', '/nothing-here.js']) {
        const r = await app.inject({ method: 'GET', url });
        expect(r.statusCode).toBe(404);
        expect(r.json()).toHaveProperty('code');
      }
    } finally {
      await app.close();
    }
  });
});
