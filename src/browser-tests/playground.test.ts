import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, watchedPage, type PageWatch } from './test-utils/browser.js';
import { startStaticServer, type StaticServer } from './test-utils/static-server.js';

/**
 * The playground end to end in headless Chromium, on the built site (what `npm run build:web` writes to
 * dist-web/, built once here with the project's vite.config.ts) over a local static server, through the page's
 * contract: the element ids of web/index.html, the URL parameters, the #status live region and
 * document.body.dataset.state. Every check runs on webgl (SwiftShader) and on wasm.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const site = path.join(repo, 'dist-web');
/** MNIST test sample 0 (a 7): FGSM at eps 0.3 turns the standard CNN's answer into a 3; the robust CNN holds. */
const SAMPLE = 0;
/** The end of a run, whichever way it went. */
const FINISHED = ['done', 'cancelled', 'error'];

let server: StaticServer;
let browser: Browser;

beforeAll(async () => {
  await build({ configFile: path.join(repo, 'vite.config.ts'), logLevel: 'error' });
  if (!existsSync(path.join(site, 'index.html'))) throw new Error(`the playground's build wrote no ${site}`);
  server = await startStaticServer({ mounts: { '/': site } });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Waits for the page to reach one of `states` (document.body.dataset.state) and returns it. */
async function settled(page: Page, states: readonly string[], timeout = 120_000): Promise<string> {
  await page.waitForFunction((s) => s.includes(document.body.dataset.state ?? ''), states, { timeout });
  return page.evaluate(() => document.body.dataset.state ?? '');
}

const statusOf = (page: Page) => page.locator('#status').innerText();

/** "FGSM eps 0.3: 7 -> 3 (success), ..." -> the clean and adversarial labels and the outcome. */
function parseStatus(text: string): { clean: string; adversarial: string; outcome: string } {
  const m = /:\s*(\S+)\s*->\s*(\S+)\s*\((success|failed)/.exec(text);
  if (m === null) throw new Error(`#status does not name the labels and the outcome: '${text}'`);
  return { clean: m[1], adversarial: m[2], outcome: m[3] };
}

/** Pixels of a canvas that differ from its first pixel: 0 for a blank (uniform) canvas. */
function nonUniformPixels(page: Page, id: string): Promise<number> {
  return page.evaluate((canvasId) => {
    const canvas = document.getElementById(canvasId);
    if (!(canvas instanceof HTMLCanvasElement) || canvas.width === 0 || canvas.height === 0) return 0;
    const data = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data;
    if (data === undefined) return 0;
    let differing = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (
        data[i] !== data[0] ||
        data[i + 1] !== data[1] ||
        data[i + 2] !== data[2] ||
        data[i + 3] !== data[3]
      ) {
        differing++;
      }
    }
    return differing;
  }, id);
}

describe.each(['webgl', 'wasm'])('the playground on %s', (backend) => {
  let watch: PageWatch;
  let fgsmUrl: string;
  let fgsmStatus: string;

  beforeAll(async () => {
    watch = await watchedPage(browser, server.origin);
  });

  afterAll(async () => {
    await watch?.close();
  });

  it('loads and says which backend runs', async () => {
    await watch.page.goto(`${server.origin}/?backend=${backend}`);
    expect(await settled(watch.page, ['ready', 'error'], 60_000)).toBe('ready');
    await expect.poll(() => watch.page.locator('#backend').innerText()).toContain(backend);
  });

  it('FGSM at eps 0.3 (URL with run=1) changes the standard CNN label, and #status says so', async () => {
    const query = `?model=mnist-cnn&sample=${SAMPLE}&attack=fgsm&eps=0.3&method=gradcam&backend=${backend}&run=1`;
    await watch.page.goto(`${server.origin}/${query}`);
    expect(await settled(watch.page, FINISHED)).toBe('done');
    fgsmStatus = await statusOf(watch.page);
    const result = parseStatus(fgsmStatus);
    expect(result).toEqual({
      clean: expect.any(String),
      adversarial: expect.any(String),
      outcome: 'success',
    });
    expect(result.adversarial).not.toBe(result.clean);
    // The page's own link to this result, as a visitor would share it.
    fgsmUrl = await watch.page.locator('#share').evaluate((a) => (a as HTMLAnchorElement).href);
  });

  it('Grad-CAM and SmoothGrad heatmaps render for the clean and the adversarial input', async () => {
    for (const method of ['gradcam', 'smoothgrad']) {
      await watch.page.selectOption('#method', method);
      await watch.page.click('#explain');
      expect(await settled(watch.page, FINISHED)).toBe('done');
      expect(await nonUniformPixels(watch.page, 'heatmap-clean'), `${method}, clean`).toBeGreaterThan(0);
      expect(
        await nonUniformPixels(watch.page, 'heatmap-adversarial'),
        `${method}, adversarial`,
      ).toBeGreaterThan(0);
    }
  });

  it('the shared URL (run=1) reproduces the same result', async () => {
    const shared = new URL(fgsmUrl);
    expect(shared.searchParams.get('run')).toBe('1');
    const other = await watch.context.newPage();
    try {
      await other.goto(shared.href);
      expect(await settled(other, FINISHED)).toBe('done');
      expect(await statusOf(other)).toBe(fgsmStatus);
    } finally {
      await other.close();
    }
  });

  it('PGD at eps 0.1 (set in #eps, started by #run) leaves the robust CNN label unchanged', async () => {
    const query = `?model=mnist-cnn-robust&sample=${SAMPLE}&attack=pgd&steps=10&backend=${backend}`;
    await watch.page.goto(`${server.origin}/${query}`);
    expect(await settled(watch.page, ['ready', 'error'], 60_000)).toBe('ready');
    expect(await watch.page.inputValue('#model')).toBe('mnist-cnn-robust');
    expect(await watch.page.inputValue('#sample')).toBe(String(SAMPLE));
    expect(await watch.page.inputValue('#attack')).toBe('pgd');
    await watch.page.fill('#eps', '0.1');
    await watch.page.click('#run');
    expect(await settled(watch.page, FINISHED)).toBe('done');
    const result = parseStatus(await statusOf(watch.page));
    expect(result.outcome).toBe('failed');
    expect(result.adversarial).toBe(result.clean);
    expect(new URL(watch.page.url()).searchParams.get('eps')).toBe('0.1');
  });

  it('cancel stops a long attack', async () => {
    // The robust CNN at eps 0.1 never gives in, so PGD runs all its steps (no early stop): minutes without cancel.
    const query = `?model=mnist-cnn-robust&sample=${SAMPLE}&attack=pgd&eps=0.1&steps=100000&backend=${backend}&run=1`;
    await watch.page.goto(`${server.origin}/${query}`);
    expect(await settled(watch.page, ['running', 'done', 'error'])).toBe('running');
    await watch.page.click('#cancel', { timeout: 10_000 });
    expect(await settled(watch.page, FINISHED, 30_000)).toBe('cancelled');
    expect(await watch.page.locator('#cancel').isDisabled()).toBe(true);
  });

  it('logged no console error and asked nothing of another origin', () => {
    expect(watch.consoleErrors).toEqual([]);
    expect(watch.outsideRequests).toEqual([]);
  });
});
