// advkit in the browser beside advkit in Node, on the same machine, in one run: images/s of FGSM and PGD-10 on
// the bundled MNIST and CIFAR-10 CNNs and of Grad-CAM on the shared Darknet ImageNet model, in headless
// Chromium per tfjs backend (webgl on SwiftShader, wasm with advkit's gradient kernels) and in Node (the native
// engine by default).
//
//   npm run build && node bench/browser/run.mjs [--quick] [--backends webgl,wasm] [--engines native,wasm]
//                                               [--threads 2] [--isolated] [--json out.json]
//
// One run: node-worker.mjs, once per engine in its own process, loads each model, writes its inputs (the first
// test images; ImageNet photos resized by advkit's image loader) for the browser and times every task of
// settings.json. Then the browser side (page-entry.mjs with src/browser.ts, bundled by Vite) runs in Debian's
// Chromium driven by playwright-core, one fresh page per backend, served by the browser tests' static server
// (src/browser-tests/test-utils/, imported through Vite's module runner): the page loads the models by URL
// (the Darknet model from ADVKIT_MODELS, never copied), reads the same input bytes and times the same tasks
// with the same loop (measure.mjs). --isolated serves the page cross-origin isolated (COOP/COEP), which lets
// tfjs wasm use threads; without it (the default, as a static host such as GitHub Pages serves the playground)
// wasm runs on one thread.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runnerImport } from 'vite';
import { markdownTable, parseEngines, ratio } from '../engines.mjs';

/* global window -- in the functions that page.evaluate and page.waitForFunction run in the page */

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const quick = argv.includes('--quick');
const threads = option('threads', '2');
const engines = parseEngines(option('engines', 'native'));
const backends = option('backends', 'webgl,wasm').split(',');
const isolated = argv.includes('--isolated');
const settings = JSON.parse(fs.readFileSync(path.join(here, 'settings.json'), 'utf8'));
const sharedModels = process.env.ADVKIT_MODELS ?? path.resolve(repo, '../shared/models');
const env = {
  ...process.env,
  ADVKIT_DATA: process.env.ADVKIT_DATA ?? path.resolve(repo, '../shared/datasets'),
  ADVKIT_MODELS: sharedModels,
};

if (!fs.existsSync(path.join(repo, 'dist/node.js'))) {
  console.error('dist/ is missing: run `npm run build` first.');
  process.exit(1);
}
const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** A TypeScript helper of the browser tests, run through Vite's module runner (no build step). */
const testUtil = async (file) =>
  (
    await runnerImport(path.join(repo, 'src/browser-tests/test-utils', file), {
      configFile: false,
      logLevel: 'error',
    })
  ).module;

function runNodeWorker(engine, dataDir, writeInputs) {
  const args = [
    path.join(here, 'node-worker.mjs'),
    '--data',
    dataDir,
    '--engine',
    engine,
    '--threads',
    threads,
  ];
  if (quick) args.push('--quick');
  if (writeInputs) args.push('--write-inputs');
  const child = spawn(process.execPath, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const records = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    const record = JSON.parse(line);
    records.push(record);
    if (record.task !== undefined)
      console.error(`node ${record.engine}: ${record.model} ${record.task} done`);
  });
  return new Promise((resolve, reject) =>
    child.on('close', (code, signal) =>
      code === 0
        ? resolve(records)
        : reject(new Error(`node-worker ${engine} failed (${code ?? signal})\n${stderr}`)),
    ),
  );
}

const startedAt = new Date();
console.error(`load average at start: ${loadavg()} (${os.cpus().length} cpus)`);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'advkit-bench-browser-'));
const records = [];
let bundleDir;
try {
  for (const [i, engine] of engines.entries())
    records.push(...(await runNodeWorker(engine, dataDir, i === 0)));

  const { bundleEntry } = await testUtil('bundle.ts');
  const { startStaticServer } = await testUtil('static-server.ts');
  const { launchChromium, watchedPage } = await testUtil('browser.ts');
  bundleDir = await bundleEntry(path.join(here, 'page-entry.mjs'));
  const server = await startStaticServer({
    mounts: {
      '/': path.join(here, 'page'),
      '/dist/': bundleDir,
      '/models/': path.join(repo, 'models'),
      '/shared-models/': sharedModels,
      '/inputs/': dataDir,
      '/wasm/': path.join(repo, 'node_modules/@tensorflow/tfjs-backend-wasm/dist'),
    },
    isolated,
  });
  const browser = await launchChromium();
  try {
    for (const backend of backends) {
      const watch = await watchedPage(browser, server.origin);
      await watch.page.goto(`${server.origin}/`);
      await watch.page.waitForFunction(() => window.benchBrowser !== undefined);
      const t0 = Date.now();
      const found = await watch.page.evaluate(
        (a) => window.benchBrowser.run(a.backend, a.settings, a.quick),
        {
          backend,
          settings,
          quick,
        },
      );
      console.error(
        `chromium ${backend}: ${((Date.now() - t0) / 1000).toFixed(0)}s, load average ${loadavg()}`,
      );
      const label = backend === 'wasm' && isolated ? 'wasm-isolated' : backend;
      // Which tfjs wasm binary the page fetched: the threaded build only when the page is cross-origin isolated.
      const binaries = [...new Set(server.requests.filter((p) => p.startsWith('/wasm/')))];
      if (found[0]?.info === 'env' && backend === 'wasm') found[0].wasmBinaries = binaries;
      records.push(...found.map((r) => ({ side: 'chromium', engine: label, ...r })));
      if (watch.consoleErrors.length > 0 || watch.outsideRequests.length > 0) {
        console.error(`chromium ${backend}: console errors ${JSON.stringify(watch.consoleErrors)}`);
        console.error(
          `chromium ${backend}: requests beyond the origin ${JSON.stringify(watch.outsideRequests)}`,
        );
      }
      await watch.close();
    }
    const missing = [...new Set(server.notFound)];
    if (missing.length > 0) console.error(`answered 404 (advkit.json is optional): ${missing.join(', ')}`);
  } finally {
    await browser.close();
    await server.close();
  }
} finally {
  fs.rmSync(dataDir, { recursive: true, force: true });
  if (bundleDir !== undefined) fs.rmSync(bundleDir, { recursive: true, force: true });
}
console.error(`load average at end: ${loadavg()}`);

// --- the table: one row per model and task, one column per engine or backend, and Node's lead over each --------
const fmt = (v) =>
  v === undefined ? '-' : v >= 100 ? String(Math.round(v)) : v >= 1 ? v.toFixed(1) : v.toFixed(2);
const measured = records.filter((r) => r.task !== undefined);
const columns = [...new Set(measured.map((r) => `${r.side} ${r.engine}`))];
const nodeColumn = columns.find((c) => c.startsWith('node '));
const browserColumns = columns.filter((c) => c.startsWith('chromium '));
const rows = [];
for (const [model] of Object.entries(settings.models)) {
  for (const task of settings.tasks.filter((t) => t.models.includes(model))) {
    const at = (column) =>
      measured.find((r) => `${r.side} ${r.engine}` === column && r.model === model && r.task === task.id);
    const n = at(columns[0])?.n;
    rows.push([
      task.id,
      model,
      String(n),
      ...columns.map((c) => fmt(at(c)?.images_per_s)),
      ...browserColumns.map((c) => ratio(at(nodeColumn)?.images_per_s, at(c)?.images_per_s)),
    ]);
  }
}
const table = markdownTable(
  [
    'task',
    'model',
    'n',
    ...columns.map((c) => `${c} img/s`),
    ...browserColumns.map((c) => `${nodeColumn} / ${c.replace('chromium ', '')}`),
  ],
  rows,
);
console.log(
  `bench/browser ${quick ? '(quick) ' : ''}run of ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ` +
    `${os.cpus().length} cpus (${os.cpus()[0]?.model ?? 'unknown'})\n`,
);
console.log(table);
const sanity = measured
  .filter((r) => r.tensors_leaked !== 0 || (r.success_rate !== undefined && r.success_rate < 0.5))
  .map(
    (r) =>
      `${r.side} ${r.engine} ${r.model} ${r.task}: success ${r.success_rate}, tensors leaked ${r.tensors_leaked}`,
  );
if (sanity.length > 0) console.log(`\nto look at:\n${sanity.join('\n')}`);
for (const r of records.filter((x) => x.info === 'env')) console.log(`\n${JSON.stringify(r)}`);
const jsonOut = option('json', undefined);
if (jsonOut !== undefined)
  fs.writeFileSync(jsonOut, JSON.stringify({ startedAt, quick, isolated, records }, null, 2));
