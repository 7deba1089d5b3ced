// The command-line options and settings.json, as run.mjs and worker.mjs both read them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
const argv = process.argv.slice(2);

/** The value after `--name`, or `fallback`. */
export const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};

export const settings = JSON.parse(fs.readFileSync(path.join(here, 'settings.json'), 'utf8'));
const sizes = argv.includes('--quick') ? settings.quick : settings;
export const n = Number(option('n', sizes.n));
export const suiteN = Number(option('suite-n', sizes.suiteN));
export const threads = Number(option('threads', '2'));
/** The engine a worker runs (run.mjs starts one worker per engine of --engines). */
export const backend = option('backend', 'wasm');
