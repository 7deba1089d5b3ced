import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { BUNDLED_MODELS, SAMPLE_SETS } from './src/web/catalog.ts';

/**
 * The playground's static site (npm run build:web -> dist-web/): the page from web/ and src/web/, plus, copied
 * at build time, the bundled models, the bundled samples and tfjs's wasm binaries. Relative URLs (base './')
 * so the folder deploys under any path; nothing is fetched from another origin.
 */
const root = path.dirname(fileURLToPath(import.meta.url));

function copySiteData(): Plugin {
  // The build's own output folder (a caller may override build.outDir), read once the config is resolved.
  let outDir = path.join(root, 'dist-web');
  return {
    name: 'advkit-site-data',
    apply: 'build',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      for (const { name } of BUNDLED_MODELS) {
        cpSync(path.join(root, 'models', name), path.join(outDir, 'models', name), { recursive: true });
      }
      // The samples' README carries their attribution and licence (MNIST is CC BY-SA 3.0): it ships with them.
      for (const file of ['samples/README.md', ...Object.values(SAMPLE_SETS).flatMap((set) => set.files)]) {
        cpSync(path.join(root, file), path.join(outDir, file));
      }
      const wasmDir = path.join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
      mkdirSync(path.join(outDir, 'wasm'), { recursive: true });
      for (const file of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) {
        cpSync(path.join(wasmDir, file), path.join(outDir, 'wasm', file));
      }
    },
  };
}

export default defineConfig({
  root: path.join(root, 'web'),
  base: './',
  publicDir: false,
  build: {
    outDir: path.join(root, 'dist-web'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
  },
  worker: { format: 'es' },
  plugins: [copySiteData()],
});
