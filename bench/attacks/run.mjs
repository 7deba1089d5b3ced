// Attack throughput: advkit's engines beside PyTorch CPU, the same attacks on the same networks, weights and inputs.
//
//   npm run build && node bench/attacks/run.mjs [--quick] [--engines native,wasm] [--threads 2]
//                                               [--only fgsm,pgd10] [--models mnist_cnn] [--json out.json]
//
// One run: worker.mjs, once per engine in its own process (native: tfjs wasm with convolutions and matrix
// products on oneDNN; wasm: tfjs wasm with advkit's kernels; both on --threads threads), builds the Madry MNIST
// CNN and the small CIFAR CNN of ../shared/bench/torch_baseline.py with seeded weights, makes seeded uniform
// inputs whose labels are the clean predictions (the first engine exports both, the next ones check their
// logits against it), and times runAttack; then torch_attacks.py (PyTorch CPU, OpenMP OpenBLAS, --threads
// threads) loads the same weights and inputs (checking its logits against advkit's) and times its own
// implementation of each attack. Attacks and parameters come from settings.json, one source for all sides.
//
// Conventions (both sides):
// - A measurement is what runAttack does for one batch: clean predictions, the attack, projection onto the
//   eps-ball and [0, 1], predictions on the result, success and distances. images/s = batch / median wall time.
// - The same work on both sides: PGD runs every step for every example (earlyStop: false; random start);
//   C&W-L2 runs binarySearchSteps x steps Adam steps for every example (abortEarly: false); Square has a fixed
//   query budget, but (as in the paper) only queries examples not yet adversarial, so it runs at an eps where
//   the budget is spent (settings.json). The table gives gradient evaluations and forward queries per image as
//   each side counted them (a gradient counts as a query too); "per unit of work" divides each side's images/s
//   by its work per image (gradients; queries for Square) and compares those. advkit's FGSM and PGD also score
//   their last iterate inside the attack (one forward pass more than PyTorch's, shown in queries/img); that is
//   advkit's cost, counted in its images/s.
// - Losses: PyTorch ascends the summed cross-entropy, advkit its per-example log-odds (a monotone transform of
//   the cross-entropy per example): the same sign and L2 steps in exact arithmetic.
// - One warm-up (two FGSM runs) per model and side; medians of `reps` runs (settings.json; --quick: smaller
//   batches and fewer runs).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable, parseEngines, ratio } from '../engines.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const quick = argv.includes('--quick');
const threads = option('threads', '2');
const engines = parseEngines(option('engines', undefined));
const passThrough = [
  '--threads',
  threads,
  ...(quick ? ['--quick'] : []),
  ...['only', 'models'].flatMap((o) => (option(o) ? [`--${o}`, option(o)] : [])),
];
const settings = JSON.parse(fs.readFileSync(path.join(here, 'settings.json'), 'utf8'));

if (!fs.existsSync(path.join(repo, 'dist/index.js'))) {
  console.error('dist/ is missing: run `npm run build` first.');
  process.exit(1);
}

const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

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
      `${label}: failed (exit ${out.status ?? out.signal}) after ${seconds}s\n${(out.stderr ?? '').slice(-3000)}`,
    );
    process.exit(1);
  }
  console.error(`${label}: done in ${seconds}s (load average ${loadavg()})`);
  return out.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

console.error(`load average at start: ${loadavg()} (${os.cpus().length} cpus)`);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'advkit-bench-attacks-'));
let records;
try {
  records = [
    ...engines.flatMap((engine) =>
      run(`advkit ${engine} ${threads} thread(s)`, process.execPath, [
        path.join(here, 'worker.mjs'),
        ...['--data', dataDir, '--backend', engine],
        ...passThrough,
      ]),
    ),
    ...run(
      'pytorch',
      '/usr/bin/python3',
      [path.join(here, 'torch_attacks.py'), '--data', dataDir, ...passThrough],
      { LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/openblas-openmp' },
    ),
  ];
} finally {
  fs.rmSync(dataDir, { recursive: true, force: true });
}
console.error(`load average at end: ${loadavg()}`);

// --- side-by-side table ---------------------------------------------------------------------------------------
const fmt = (v) => (v === undefined ? '-' : v >= 100 ? String(Math.round(v)) : v.toFixed(1));
const count = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
const pct = (v) => `${Math.round(v * 100)}%`;
const work = (r) => (r.gradients_per_image > 0 ? r.gradients_per_image : r.queries_per_image);

function describe(a, model, spec) {
  const p = a.params;
  const value = a.eps?.[model] ?? spec.eps;
  // 8/255 rather than 0.0313...
  const k = Math.round(value * 255);
  const eps =
    k > 0 && Math.abs(value * 255 - k) < 1e-9 && !Number.isInteger(value) ? `${k}/255` : String(value);
  if (a.attack === 'fgsm') return `eps ${eps}`;
  if (a.attack === 'pgd') return `eps ${eps}, step ${p.relStepSize} eps`;
  if (a.attack === 'cw') return `${p.binarySearchSteps} x ${p.steps}, lr ${p.stepSize}`;
  if (a.attack === 'square') return `eps ${eps}, ${p.queries} queries, pInit ${p.pInit}`;
  return '';
}

const labels = [
  ...new Set(
    records.filter((r) => r.framework === 'advkit-tfjs' && r.info === undefined).map((r) => r.engine),
  ),
];
const native = labels.find((e) => e.startsWith('native'));
const wasm = labels.find((e) => e.startsWith('wasm'));
const rows = [];
for (const [model, spec] of Object.entries(settings.models)) {
  for (const a of settings.attacks) {
    const find = (pred) => records.find((r) => pred(r) && r.model === model && r.attack === a.id);
    const torch = find((r) => r.framework === 'pytorch-cpu');
    const ours = labels.map((e) => find((r) => r.engine === e));
    const of = (e) => ours[labels.indexOf(e)];
    const first = ours.find((r) => r !== undefined);
    if (!torch || !first) continue;
    const perUnit = (r) => (r ? (r.images_per_s * work(r)) / (torch.images_per_s * work(torch)) : undefined);
    rows.push([
      model,
      a.id,
      describe(a, model, spec),
      String(first.batch),
      `${count(first.gradients_per_image)} / ${count(torch.gradients_per_image)}`,
      `${count(first.queries_per_image)} / ${count(torch.queries_per_image)}`,
      fmt(torch.images_per_s),
      ...ours.map((r) => fmt(r?.images_per_s)),
      ...labels.map((e) => ratio(of(e)?.images_per_s, torch.images_per_s)),
      ...(native && wasm ? [ratio(of(native)?.images_per_s, of(wasm)?.images_per_s)] : []),
      labels.map((e) => perUnit(of(e))?.toFixed(2) ?? '-').join(' / '),
      [...ours.map((r) => (r ? pct(r.success_rate) : '-')), pct(torch.success_rate)].join(' / '),
      [...ours.map((r) => (r ? r.median_l2.toFixed(2) : '-')), torch.median_l2.toFixed(2)].join(' / '),
    ]);
  }
}
const sides = [...labels, 'torch'].join(' / ');
const header = [
  'model',
  'attack',
  'settings',
  'batch',
  'gradients/img advkit / torch',
  'queries/img advkit / torch',
  'pytorch img/s',
  ...labels.map((e) => `${e} img/s`),
  ...labels.map((e) => `${e} / pytorch`),
  ...(native && wasm ? [`${native} / ${wasm}`] : []),
  `per unit of work ${labels.join(' / ')} vs pytorch`,
  `success ${sides}`,
  `median L2 ${sides}`,
];
console.log(`\n## Attack throughput (advkit ${labels.join(', ')} vs PyTorch CPU ${threads} threads)\n`);
console.log(markdownTable(header, rows));
for (const c of records.filter((r) => r.info === 'logits-check'))
  console.log(
    `\n${c.model}: PyTorch logits vs advkit's, max |diff| ${c.max_abs_diff_vs_advkit.toExponential(1)}`,
  );
for (const c of records.filter((r) => r.info === 'engine-logits-check'))
  console.log(
    `${c.model}: ${c.engine} logits vs ${c.exported_by}'s, max |diff| ${c.max_abs_diff.toExponential(1)}`,
  );
const env = records.find((r) => r.framework === 'pytorch-cpu' && r.info === 'env');
if (env) console.log(`PyTorch ${env.torch}, ${env.threads} threads, BLAS: ${env.blas_libs.join(', ')}`);
for (const leak of records.filter((r) => r.info === 'tensors-left'))
  console.log(`advkit ${leak.engine} left ${leak.count} tensors allocated`);
const jsonOut = option('json', undefined);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(records, null, 1));
