import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium (installed by .ci/run); ADVKIT_CHROMIUM overrides it. */
export const CHROMIUM_PATH = process.env.ADVKIT_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless Chromium with WebGL on SwiftShader (ANGLE's CPU implementation of GLES), the only GL a machine
 * without a GPU has; newer Chromium refuses SwiftShader for WebGL unless told it may use it.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: install Debian's chromium (.ci/run does) or set ADVKIT_CHROMIUM.`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
      '--ignore-gpu-blocklist',
      // Root in a container has no user namespaces for the sandbox.
      '--no-sandbox',
      '--disable-dev-shm-usage',
    ],
  });
}

/** What a page did that a test forbids: console errors, uncaught exceptions, requests beyond its origin. */
export interface PageWatch {
  page: Page;
  context: BrowserContext;
  consoleErrors: string[];
  /** Every console message, "type: text", for diagnosing a failure. */
  consoleLog: string[];
  outsideRequests: string[];
  close(): Promise<void>;
}

/**
 * A fresh context and page that record console errors and uncaught exceptions, and record and abort every
 * request to an origin other than `origin` (so a page that reaches for a CDN fails the test instead of
 * silently working online).
 */
export async function watchedPage(browser: Browser, origin: string): Promise<PageWatch> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const consoleErrors: string[] = [];
  const consoleLog: string[] = [];
  const outsideRequests: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`) || url.startsWith('data:') || url.startsWith('blob:')) {
      return route.continue();
    }
    outsideRequests.push(url);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('console', (message) => {
    consoleLog.push(`${message.type()}: ${message.text()}`);
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  // Requests that routing may not see (a worker's own fetches in some versions) are still reported here.
  context.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:') && !url.startsWith('blob:')) {
      if (!outsideRequests.includes(url)) outsideRequests.push(url);
    }
  });
  return { page, context, consoleErrors, consoleLog, outsideRequests, close: () => context.close() };
}
