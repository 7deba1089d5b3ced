// advkit engine benchmark beside PyTorch CPU, in one run on one machine.
//
//   npm run build && node bench/engine/run.mjs [--quick] [--engines native,wasm,stock,cpu] [--skip-torch]
//       [--skip-native] [--skip-wasm] [--skip-stock] [--skip-cpu] [--threads 1,2] [--native-threads 2]
//       [--json out.json]
//
// Runs ../shared/bench/torch_baseline.py (PyTorch CPU, the strongest build: OpenMP OpenBLAS) on the Madry MNIST CNN
// and the small CIFAR CNN, then the same models and tasks on advkit's engines, one configuration per process: the
// native engine (tfjs wasm with convolutions and matrix products on oneDNN, --native-threads threads), tfjs wasm
// with advkit's gradient kernels on 1 and 2 threads, stock tfjs wasm, and the tfjs cpu backend at a small batch.
// Prints images/s side by side with the ratios native / PyTorch, native / best wasm and best wasm / PyTorch, plus
// per-layer forward vs input- and filter-gradient times for native and wasm.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable, ratio } from '../engines.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const quick = flag('quick');
const threadCounts = option('threads', '1,2').split(',').map(Number);
const nativeThreads = option('native-threads', '2');
const CONFIGS = ['native', 'wasm', 'stock', 'cpu'];
const configs = option('engines', CONFIGS.join(','))
  .split(',')
  .filter((c) => !flag(`skip-${c}`));
if (configs.some((c) => !CONFIGS.includes(c))) {
  console.error(`--engines takes a list of ${CONFIGS.join(', ')}; got '${option('engines')}'.`);
  process.exit(2);
}
const torchScript = path.resolve(repo, '../shared/bench/torch_baseline.py');
const MODELS = 'mnist_cnn,cifar_small_cnn';

if (!fs.existsSync(path.join(repo, 'dist/backend/node-backend.js'))) {
  console.error('dist/ is missing: run `npm run build` first.');
  process.exit(1);
}

function jsonLines(text) {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

function run(label, command, args, env = {}) {
  const started = Date.now();
  const out = spawnSync(command, args, {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26,
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (out.status !== 0) {
    console.error(
      `${label}: failed (exit ${out.status ?? out.signal}) after ${seconds}s\n${(out.stderr ?? '').slice(-2000)}`,
    );
    return [];
  }
  console.error(`${label}: done in ${seconds}s`);
  return jsonLines(out.stdout);
}

console.error(
  `load average at start: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (${os.cpus().length} cpus)`,
);
const records = [];

if (!flag('skip-torch')) {
  const env = { LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/openblas-openmp' };
  const torch = run(
    'pytorch',
    '/usr/bin/python3',
    [torchScript, '--threads', '2', '--quick', '--only', MODELS],
    env,
  );
  records.push(...torch);
}
const worker = path.join(here, 'worker.mjs');
const reps = quick ? '3' : '5';
const fast = (backend, threads) => [
  worker,
  ...['--backend', backend, '--threads', String(threads), '--reps', reps, '--warmup', '2'],
  ...['--layers', '--resnet-layers'],
];
if (configs.includes('native')) {
  records.push(
    ...run(`advkit native ${nativeThreads} thread(s)`, process.execPath, fast('native', nativeThreads)),
  );
}
for (const threads of configs.includes('wasm') ? threadCounts : []) {
  records.push(...run(`advkit wasm ${threads} thread(s)`, process.execPath, fast('wasm', threads)));
}
if (configs.includes('stock')) {
  // stock tfjs wasm cannot train conv nets (no Conv2DBackpropFilter): inference and FGSM only
  records.push(
    ...run('stock tfjs wasm (no advkit kernels)', process.execPath, [
      worker,
      '--stock',
      '--reps',
      '1',
      '--warmup',
      '1',
      '--tasks',
      'infer,fgsm_attack',
    ]),
  );
}
if (configs.includes('cpu')) {
  // The tfjs cpu backend is 10-100x slower (a training step of 16 images takes a minute): small batches, one
  // timed repetition, no warm-up for the training step.
  const cpu = [worker, '--backend', 'cpu', '--reps', '1'];
  const fast = ['--batch', '16', '--warmup', '1', '--tasks', 'infer,fgsm_attack'];
  const slow = ['--batch', '4', '--warmup', '0', '--tasks', 'sgd_update_step'];
  records.push(
    ...run('advkit cpu (tfjs cpu backend), infer + fgsm', process.execPath, [...cpu, ...fast]),
    ...run('advkit cpu (tfjs cpu backend), training step', process.execPath, [...cpu, ...slow]),
  );
}
console.error(
  `load average at end: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

// --- side-by-side table ---------------------------------------------------------------------------------------
const measured = records.filter((r) => r.framework === 'advkit-tfjs' && r.info === undefined);
const engines = [...new Set(measured.map((r) => r.engine))];
const native = engines.find((e) => e.startsWith('native'));
const tasks = ['infer', 'fgsm_attack', 'sgd_update_step'];
const find = (pred) => records.find(pred);
const fmt = (v) => (v === undefined ? '-' : v >= 100 ? String(Math.round(v)) : v.toFixed(1));
const rows = [];
for (const model of MODELS.split(',')) {
  for (const task of tasks) {
    const torch = find(
      (r) => r.framework === 'pytorch-cpu' && r.model === model && r.task === task && r.batch === 128,
    )?.images_per_s;
    const cells = engines.map(
      (e) => find((r) => r.engine === e && r.model === model && r.task === task)?.images_per_s,
    );
    const of = (e) => cells[engines.indexOf(e)];
    const wasmBest = Math.max(0, ...engines.filter((e) => e.startsWith('wasm')).map((e) => of(e) ?? 0));
    rows.push([
      model,
      task,
      fmt(torch),
      ...cells.map(fmt),
      ...(native ? [ratio(of(native), torch), ratio(of(native), wasmBest)] : []),
      ratio(wasmBest, torch),
    ]);
  }
}
const header = [
  'model',
  'task',
  'pytorch img/s',
  ...engines.map((e) => `advkit ${e} img/s`),
  ...(native ? ['native / pytorch', 'native / best wasm'] : []),
  'best wasm / pytorch',
];
console.log('\n## Throughput (batch 128; advkit cpu: batch 16, training step batch 4)\n');
console.log(markdownTable(header, rows));

const layers = records.filter((r) => r.task === 'conv_layer');
if (layers.length > 0) {
  const lh = [
    'engine',
    'model',
    'input',
    'filter',
    'stride',
    'forward ms',
    'input grad ms (x fwd)',
    'filter grad ms (x fwd)',
    'before: XNNPACK-based filter grad ms (x fwd)',
  ];
  const lrows = layers.map((r) => [
    r.engine,
    r.model,
    r.input.join('x'),
    r.filter.join('x'),
    r.strides,
    r.forward_ms,
    `${r.input_grad_ms} (${r.input_grad_ratio})`,
    `${r.filter_grad_ms} (${r.filter_grad_ratio})`,
    r.filter_grad_xnnpack_ms === undefined
      ? '-'
      : `${r.filter_grad_xnnpack_ms} (${r.filter_grad_xnnpack_ratio})`,
  ]);
  console.log('\n## Convolution layers (batch 128): forward vs gradient kernels\n');
  console.log(markdownTable(lh, lrows));
}
const env = find((r) => r.info === 'env' && r.framework !== 'advkit-tfjs');
if (env) console.log(`\nPyTorch ${env.torch}, ${env.threads} threads, BLAS: ${env.blas_libs?.join(', ')}`);
const nativeEnv = find((r) => r.info === 'env' && r.engine === native);
if (nativeEnv) console.log(`native engine: oneDNN ${nativeEnv.onednn}, ${nativeEnv.isa}`);
const jsonOut = option('json', undefined);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(records, null, 1));
