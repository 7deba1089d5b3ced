// Robustness evaluation speed: advkit's AutoAttack protocol on the robust MNIST model, on each of advkit's engines,
// beside PyTorch CPU running APGD-CE on the same weights and images.
//
//   npm run build && node bench/evaluation/run.mjs [--quick] [--engines native,wasm] [--n 1000] [--suite-n 100]
//                                                  [--threads 2] [--json out.json]
//
// One run: torch_apgd.py (PyTorch CPU, OpenMP OpenBLAS, 2 threads) reads models/mnist-cnn-robust's tfjs weight
// files and runs APGD-CE written from the paper on the first n MNIST test images, in two variants: 'paper' (every
// attacked point runs the whole budget, as the paper and AutoAttack's code) and 'drop-fooled' (a point leaves the
// batch once an iterate is misclassified, as advkit's APGD does). Then worker.mjs, once per engine in its own
// process (native: tfjs wasm with convolutions and matrix products on oneDNN; wasm: tfjs wasm with advkit's
// kernels; both on --threads threads), runs `evaluateRobustness` with the suite ['apgd-ce'] on the same n images
// and the standard suite (APGD-CE, APGD-T, FAB-T, Square) on the first suiteN. Settings come from settings.json.
// Ratios are the first engine's (native by default) against each other side.
//
// Conventions (both sides):
// - An evaluation is what `evaluateRobustness` does: clean predictions on all points, then each attack on the
//   points still robust (correct and not broken by an earlier attack), in batches of `batch`. points/s = points /
//   wall time of the whole evaluation, after an untimed warm-up.
// - Gradient evaluations and queries per point are divided by all the points (RobustBench's convention), as each
//   side counted them: one per example per backward pass; a query per example per forward pass, a gradient
//   counting as a query too, the clean predictions included.
// - APGD-CE: Linf eps 0.3, 100 steps, 1 restart, step size 2 eps halved at the paper's checkpoints (rho 0.75),
//   momentum 0.75, uniform random start, CE loss (advkit ascends its log-odds form, the same steps), 100 gradients
//   and one forward pass per attacked point at most.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { markdownTable, parseEngines, ratio } from '../engines.mjs';
import { here, n, option, repo, settings, suiteN, threads } from './options.mjs';

const engines = parseEngines(option('engines', undefined));

const dataDir = process.env.ADVKIT_DATA ?? path.resolve(repo, '../shared/datasets');

if (!fs.existsSync(path.join(repo, 'dist/index.js'))) {
  console.error('dist/ is missing: run `npm run build` first.');
  process.exit(1);
}

const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const loads = [`start ${loadavg()}`];

function run(label, command, args, env = {}) {
  const started = Date.now();
  const out = spawnSync(command, args, {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26,
  });
  const seconds = (Date.now() - started) / 1000;
  if (out.status !== 0) {
    console.error(
      `${label}: failed (exit ${out.status ?? out.signal}) after ${seconds.toFixed(1)}s\n${(out.stderr ?? '').slice(-3000)}`,
    );
    process.exit(1);
  }
  loads.push(`after ${label} ${loadavg()}`);
  console.error(`${label}: done in ${seconds.toFixed(1)}s (load average ${loadavg()})`);
  return out.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

console.error(`load average at start: ${loadavg()} (${os.cpus().length} cpus)`);
const apgd = settings.apgd;
const torch = run(
  'pytorch',
  '/usr/bin/python3',
  [
    path.join(here, 'torch_apgd.py'),
    ...['--model', path.join(repo, settings.model), '--data', path.join(dataDir, settings.dataset)],
    ...['--n', String(n), '--eps', String(settings.eps), '--steps', String(apgd.steps)],
    ...['--rho', String(apgd.rho), '--momentum', String(apgd.momentum), '--batch', String(settings.batch)],
    ...['--threads', String(threads), '--seed', String(settings.seed), '--warmup', String(settings.warmupN)],
  ],
  { LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/openblas-openmp' },
);
const advkit = engines.flatMap((engine) =>
  run(
    `advkit ${engine} ${threads} thread(s)`,
    process.execPath,
    [
      path.join(here, 'worker.mjs'),
      ...['--backend', engine, '--n', String(n), '--suite-n', String(suiteN), '--threads', String(threads)],
    ],
    { ADVKIT_DATA: dataDir },
  ),
);
const labels = [...new Set(advkit.map((r) => r.engine))];

// --- tables ---------------------------------------------------------------------------------------------------
const fmt = (v) => (v === 0 ? '0' : v >= 100 ? String(Math.round(v)) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const pct = (v) => `${(100 * v).toFixed(1)}%`;
const differing = (a, b) => [...a].filter((c, i) => c !== b[i]).length;
const gradientsPerS = (r) => r.points_per_s * r.gradients_per_point;

const ours = labels.map((e) => advkit.find((r) => r.engine === e && r.record === 'apgd-ce'));
const reference = ours.find((r) => r !== undefined);
const refs = torch.filter((r) => r.record === 'apgd-ce');
const rows = [
  ...refs.map((r) => [`PyTorch 1.13 CPU, ${r.variant}`, r]),
  ...ours.filter((r) => r !== undefined).map((r) => [`advkit ${r.engine}, evaluateRobustness`, r]),
].map(([side, r]) => [
  side,
  pct(r.robust_accuracy),
  fmt(r.gradients_per_point),
  fmt(r.queries_per_point),
  fmt(r.seconds),
  fmt(r.points_per_s),
  fmt(gradientsPerS(r)),
  reference ? ratio(reference.points_per_s, r.points_per_s) : '-',
  reference ? ratio(gradientsPerS(reference), gradientsPerS(r)) : '-',
  reference ? String(differing(reference.robust, r.robust)) : '-',
]);
const ref = reference?.engine ?? 'advkit';
console.log(`\n### APGD-CE on the first ${n} MNIST test images (Linf 0.3, 100 steps, 1 restart)\n`);
console.log(
  markdownTable(
    [
      'side',
      'robust accuracy',
      'gradients/point',
      'queries/point',
      'seconds',
      'points/s',
      'gradients/s',
      `${ref} / this, points/s`,
      `${ref} / this, gradients/s`,
      `points judged differently from ${ref}`,
    ],
    rows,
  ),
);

const suites = labels.map((e) => advkit.find((r) => r.engine === e && r.record === 'standard'));
if (suites.every((s) => s !== undefined) && suites.length > 0) {
  const both = (f) => suites.map(f).join(' / ');
  const seconds = (find) => suites.map((s) => fmt(find(s).seconds));
  const speedup = (find) =>
    suites.length > 1 ? [ratio(find(suites[1]).seconds, find(suites[0]).seconds)] : [];
  const stepRows = suites[0].steps.map((step, i) => {
    const find = (s) => s.steps[i];
    return [
      step.name,
      both((s) => String(find(s).attacked)),
      both((s) => fmt(find(s).gradients_per_point)),
      both((s) => fmt(find(s).queries_per_point)),
      ...seconds(find),
      ...speedup(find),
      both((s) => pct(find(s).accuracy_after)),
    ];
  });
  const whole = (s) => s;
  const sides = labels.join(' / ');
  console.log(`\n### advkit, standard suite on the first ${suites[0].n} MNIST test images (Linf 0.3)\n`);
  console.log(
    markdownTable(
      [
        'attack',
        `points attacked ${sides}`,
        `gradients/point ${sides}`,
        `queries/point ${sides}`,
        ...labels.map((e) => `${e} seconds`),
        ...(labels.length > 1 ? [`${labels[0]} speed / ${labels[1]}`] : []),
        `robust accuracy after ${sides}`,
      ],
      [
        [
          'clean',
          both((s) => String(s.n)),
          '0',
          '-',
          ...labels.map(() => '-'),
          ...speedup(() => ({})).map(() => '-'),
          both((s) => pct(s.clean_accuracy)),
        ],
        ...stepRows,
        [
          '**whole evaluation**',
          both((s) => String(s.n)),
          both((s) => fmt(s.gradients_per_point)),
          both((s) => fmt(s.queries_per_point)),
          ...seconds(whole),
          ...speedup(whole),
          both((s) => pct(s.robust_accuracy)),
        ],
      ],
    ),
  );
  console.log(
    `\nstandard suite, points/s: ${labels.map((e, i) => `${e} ${fmt(suites[i].points_per_s)}`).join(', ')}`,
  );
}

const cleanTorch = torch.find((r) => r.record === 'clean');
for (const clean of advkit.filter((r) => r.record === 'clean')) {
  if (cleanTorch) {
    console.log(
      `sum of the clean logits over the ${n} images: PyTorch ${cleanTorch.logits_sum.toFixed(3)}, advkit ${clean.engine} ${clean.logits_sum.toFixed(3)}`,
    );
  }
}
const env = torch.find((r) => r.record === 'env');
if (env) console.log(`PyTorch ${env.torch}, ${env.threads} threads`);
for (const leak of advkit.filter((r) => r.record === 'tensors-left'))
  console.log(`advkit ${leak.engine} left ${leak.count} tensors allocated (the model's weights are 8)`);
loads.push(`end ${loadavg()}`);
console.log(`load average (1, 5, 15 min): ${loads.join('; ')}`);
const jsonOut = option('json', undefined);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ torch, advkit, loads }, null, 1));
