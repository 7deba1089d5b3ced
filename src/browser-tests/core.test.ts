import path from 'node:path';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, watchedPage, type PageWatch } from './test-utils/browser.js';
import { bundleEntry } from './test-utils/bundle.js';
import { startStaticServer, type StaticServer } from './test-utils/static-server.js';

/**
 * advkit's browser-safe core in a real browser (headless Debian Chromium driven by playwright-core): the bundle
 * of src/browser.ts loads the bundled MNIST CNNs by a relative URL, attacks and explains the bundled MNIST sample
 * on webgl (SwiftShader) and wasm (advkit's gradient kernels, tfjs's binaries served by the page's own origin),
 * leaks no tensor, logs no error and asks nothing of any other origin.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const STANDARD = '/models/mnist-cnn/model.json';
const ROBUST = '/models/mnist-cnn-robust/model.json';

let bundleDir: string;
let server: StaticServer;
let browser: Browser;

beforeAll(async () => {
  bundleDir = await bundleEntry(path.join(here, 'test-utils/core-entry.ts'));
  server = await startStaticServer({
    mounts: {
      '/': path.join(here, 'test-utils/core-page'),
      '/dist/': bundleDir,
      '/models/': path.join(repo, 'models'),
      '/samples/': path.join(repo, 'samples'),
      '/wasm/': path.join(repo, 'node_modules/@tensorflow/tfjs-backend-wasm/dist'),
    },
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (bundleDir !== undefined) rmSync(bundleDir, { recursive: true, force: true });
});

describe.each(['webgl', 'wasm'])('the core on %s in headless Chromium', (backend) => {
  // SwiftShader runs WebGL on the CPU, far slower than wasm, and compiles shaders per shape: one small batch size
  // for every call there.
  const n = backend === 'webgl' ? 4 : 16;
  let watch: PageWatch;

  beforeAll(async () => {
    watch = await watchedPage(browser, server.origin);
    await watch.page.goto(`${server.origin}/`);
    await watch.page.waitForFunction(() => window.coreChecks !== undefined);
  });

  afterAll(async () => {
    await watch?.close();
  });

  it(`starts ${backend}`, async () => {
    expect(await watch.page.evaluate((name) => window.coreChecks.start(name), backend)).toBe(backend);
  });

  it('loads both MNIST CNNs by a relative URL, with their advkit.json', async () => {
    for (const url of [STANDARD, ROBUST]) {
      const info = await watch.page.evaluate((u) => window.coreChecks.load(u), url);
      expect(info).toEqual({ inputShape: [28, 28, 1], bounds: [0, 1], classes: 10 });
    }
    expect(server.requests).toContain('/models/mnist-cnn/advkit.json');
  });

  it('FGSM at eps 0.3 fools the standard CNN on most samples, within the budget, leaking nothing', async () => {
    const report = await watch.page.evaluate(
      (o) => window.coreChecks.attack({ model: o.model, attack: 'fgsm', n: o.n, eps: 0.3 }),
      { model: STANDARD, n },
    );
    expect(report.successRate).toBeGreaterThanOrEqual(0.75);
    expect(report.maxLinf).toBeLessThanOrEqual(0.3 + 1e-5);
    expect(report.tensorsAfter).toBe(report.tensorsBefore);
  });

  it('PGD-10 at eps 0.3 fools the standard CNN on every sample, and at eps 0.1 barely moves the robust one', async () => {
    const params = { steps: 10, relStepSize: 0.25 };
    const attack = (model: string, eps: number) =>
      watch.page.evaluate((o) => window.coreChecks.attack({ ...o, attack: 'pgd' }), {
        model,
        eps,
        n,
        params,
      });
    const standard = await attack(STANDARD, 0.3);
    expect(standard.successRate).toBe(1);
    expect(standard.maxLinf).toBeLessThanOrEqual(0.3 + 1e-5);
    expect(standard.tensorsAfter).toBe(standard.tensorsBefore);

    const robust = await attack(ROBUST, 0.1);
    expect(robust.successRate).toBeLessThanOrEqual(0.25);
    expect(robust.tensorsAfter).toBe(robust.tensorsBefore);
  });

  it('explains with saliency and Grad-CAM: finite, non-zero maps of the right shape, leaking nothing', async () => {
    const explain = (model: string, method: string) =>
      watch.page.evaluate((o) => window.coreChecks.explain(o), { model, method, n });
    const saliency = await explain(STANDARD, 'saliency');
    expect(saliency.shape).toEqual([n, 28, 28, 1]);
    expect(saliency.finite).toBe(true);
    expect(saliency.nonZeroFraction).toBeGreaterThan(0.1);
    expect(saliency.tensorsAfter).toBe(saliency.tensorsBefore);

    const gradcam = await explain(ROBUST, 'gradcam');
    expect(gradcam.shape).toEqual([n, 28, 28]);
    expect(gradcam.finite).toBe(true);
    expect(gradcam.maxAbs).toBeGreaterThan(0);
    expect(gradcam.tensorsAfter).toBe(gradcam.tensorsBefore);
  });

  it('disposing the models leaves no tensor; no console error and no request beyond the origin', async () => {
    expect(await watch.page.evaluate(() => window.coreChecks.disposeAll())).toBe(0);
    expect(watch.consoleErrors).toEqual([]);
    expect(watch.outsideRequests).toEqual([]);
    expect(server.notFound.filter((p) => !p.endsWith('/favicon.ico'))).toEqual([]);
  });
});
