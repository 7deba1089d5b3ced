import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'vite';

/**
 * Bundles a browser entry (TypeScript that imports advkit's src/browser.ts) into one ES module, `bundle.js` in a
 * fresh temporary directory, with Vite's library mode (Rolldown): the same bundler the playground's build uses.
 * Takes about a second; returns the directory.
 */
export async function bundleEntry(entry: string): Promise<string> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'advkit-browser-bundle-'));
  await build({
    configFile: false,
    logLevel: 'error',
    root: path.dirname(entry),
    build: {
      lib: { entry, formats: ['es'], fileName: () => 'bundle.js' },
      outDir,
      emptyOutDir: false,
      minify: false,
      sourcemap: false,
      reportCompressedSize: false,
      // tfjs's wasm backend is both imported and loaded lazily by browser-backend.ts; one chunk is what we want.
      rollupOptions: { onwarn: () => undefined },
    },
  });
  return outDir;
}
