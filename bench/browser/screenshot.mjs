// The README's picture of the playground: docs/playground.png, taken in headless Chromium from the built site.
//
//   npm run build:web && node bench/browser/screenshot.mjs [--out docs/playground.png]
//
// Opens a shared link (PGD at eps 0.3 on MNIST test sample 0, the standard CNN compared with the robust one,
// run=1, wasm), waits for the result, runs Grad-CAM on the clean and adversarial inputs, and saves the page.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { runnerImport } from 'vite';

/* global document -- in the functions that page.waitForFunction runs in the page */

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const argv = process.argv.slice(2);
const i = argv.indexOf('--out');
const out = path.resolve(i >= 0 ? argv[i + 1] : path.join(repo, 'docs/playground.png'));
const site = path.join(repo, 'dist-web');
if (!fs.existsSync(path.join(site, 'index.html'))) {
  console.error('dist-web/ is missing: run `npm run build:web` first.');
  process.exit(1);
}
const testUtil = async (file) =>
  (
    await runnerImport(path.join(repo, 'src/browser-tests/test-utils', file), {
      configFile: false,
      logLevel: 'error',
    })
  ).module;
const { startStaticServer } = await testUtil('static-server.ts');
const { launchChromium, watchedPage } = await testUtil('browser.ts');

const server = await startStaticServer({ mounts: { '/': site } });
const browser = await launchChromium();
try {
  const watch = await watchedPage(browser, server.origin);
  const done = () =>
    watch.page.waitForFunction(
      () => ['done', 'cancelled', 'error'].includes(document.body.dataset.state),
      null,
      {
        timeout: 120_000,
      },
    );
  await watch.page.goto(
    `${server.origin}/?model=mnist-cnn&sample=0&attack=pgd&eps=0.3&method=gradcam&backend=wasm&compare=1&run=1`,
  );
  await done();
  await watch.page.click('#explain');
  await done();
  // A viewport as tall as the page, rather than fullPage, so the sticky status line stays at the top.
  const height = await watch.page.evaluate(() => document.documentElement.scrollHeight);
  await watch.page.setViewportSize({ width: 1280, height });
  // A palette PNG (sharp, libimagequant): a third of the size, no visible loss on a page of flat colours.
  await sharp(await watch.page.screenshot())
    .png({ palette: true, compressionLevel: 9 })
    .toFile(out);
  const errors = [...watch.consoleErrors, ...watch.outsideRequests];
  if (errors.length > 0) console.error(`the page reported: ${errors.join('; ')}`);
  console.log(`${path.relative(repo, out)}: ${fs.statSync(out).size} bytes`);
} finally {
  await browser.close();
  await server.close();
}
