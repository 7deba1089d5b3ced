import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

/**
 * The playground's static site (npm run build:web -> dist-web/): the page from web/ and src/web/, plus, copied
 * at build time, the bundled models, the bundled samples and tfjs's wasm binaries. Relative URLs (base './')
 * so the folder deploys under any path; nothing is fetched from another origin.
 */
const root = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(root, 'dist-web');
const MODELS = [
  'mnist-cnn',
  'mnist-cnn-robust',
  'cifar-cnn',
  'cifar-cnn-robust',
  'cifar-linear',
  'cifar-linear-robust',
];

function copySiteData(): Plugin {
  return {
    name: 'advkit-site-data',
    apply: 'build',
    closeBundle() {
      for (const name of MODELS) {
        cpSync(path.join(root, 'models', name), path.join(outDir, 'models', name), { recursive: true });
      }
      for (const set of ['mnist', 'cifar10']) {
        cpSync(path.join(root, 'samples', set), path.join(outDir, 'samples', set), { recursive: true });
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
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
  },
  worker: { format: 'es' },
  plugins: [copySiteData()],
});
