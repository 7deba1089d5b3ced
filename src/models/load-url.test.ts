import * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { createClassifier } from './create-classifier.js';
import { loadClassifierFromUrl, metadataUrl } from './load-url.js';
import { saveClassifier } from './node/save-classifier.js';

let root: string;
let server: http.Server;
let base: string;

describe('loadClassifierFromUrl', () => {
  beforeAll(async () => {
    await initNodeBackend();
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'advkit-url-'));
    // A static file server standing in for a web host.
    server = http.createServer((req, res) => {
      const file = path.join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      fs.readFile(file).then(
        (data) => res.end(data),
        () => {
          res.statusCode = 404;
          res.end();
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await fs.rm(root, { recursive: true, force: true });
  });

  it('loads model.json over HTTP with its advkit.json, or with a labels URL when there is none', async () => {
    const c = createClassifier('mlp', { inputShape: [4, 4, 1], classNames: ['a', 'b'], hiddenSizes: [5], seed: 4 });
    await saveClassifier(c, path.join(root, 'with-meta'));
    await saveClassifier(c, path.join(root, 'bare'));
    await fs.rm(path.join(root, 'bare', 'advkit.json'));
    await fs.writeFile(path.join(root, 'bare', 'names.json'), '["yes", "no"]');

    const loaded = await loadClassifierFromUrl(`${base}/with-meta/model.json`);
    expect(loaded.classNames).toEqual(['a', 'b']);
    expect(loaded.metadata.architecture).toBe('mlp');
    const bare = await loadClassifierFromUrl(`${base}/bare/model.json`, { labels: `${base}/bare/names.json` });
    expect(bare.classNames).toEqual(['yes', 'no']);
    expect(bare.metadata.architecture).toBe('external');
    tf.tidy(() => {
      const x = tf.randomUniform([2, 4, 4, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
      const want = Array.from(c.logits(x).dataSync());
      expect(Array.from(loaded.logits(x).dataSync())).toEqual(want);
      expect(Array.from(bare.logits(x).dataSync())).toEqual(want);
    });
    await expect(loadClassifierFromUrl(`${base}/missing/model.json`)).rejects.toMatchObject({ code: 'NETWORK' });
    [c, loaded, bare].forEach((k) => k.dispose());
  });

  it('finds advkit.json beside a model named by a relative URL, against the page (the playground names its models so)', () => {
    expect(metadataUrl('/models/mnist-cnn/model.json', 'http://host/app/index.html?x=1')).toBe(
      'http://host/models/mnist-cnn/advkit.json',
    );
    expect(metadataUrl('models/mnist-cnn/model.json', 'http://host/app/index.html')).toBe(
      'http://host/app/models/mnist-cnn/advkit.json',
    );
    expect(metadataUrl('http://cdn.example/m/model.json?v=2', 'http://host/')).toBe('http://cdn.example/m/advkit.json');
    // No page (Node): an absolute URL as before, a relative one stays relative instead of throwing "Invalid base URL".
    expect(metadataUrl('/models/mnist-cnn/model.json', undefined)).toBe('/models/mnist-cnn/advkit.json');
    expect(metadataUrl(`${base}/with-meta/model.json`)).toBe(`${base}/with-meta/advkit.json`);
  });
});
