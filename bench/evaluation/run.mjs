// Robustness evaluation speed: advkit's AutoAttack protocol on the robust MNIST model, beside PyTorch CPU running
// APGD-CE on the same weights and images.
//
//   npm run build && node bench/evaluation/run.mjs [--quick] [--n 1000] [--suite-n 100] [--threads 2]
//                                                  [--json out.json]
//
// One run: torch_apgd.py (PyTorch CPU, OpenMP OpenBLAS, 2 threads) reads models/mnist-cnn-robust's tfjs weight
// files and runs APGD-CE written from the paper on the first n MNIST test images, in two variants: 'paper' (every
// attacked point runs the whole budget, as the paper and AutoAttack's code) and 'drop-fooled' (a point leaves the
// batch once an iterate is misclassified, as advkit's APGD does). Then worker.mjs (advkit, tfjs wasm with
// advkit's kernels, 2 threads) runs `evaluateRobustness` with the suite ['apgd-ce'] on the same n images and the
// standard suite (APGD-CE, APGD-T, FAB-T, Square) on the first suiteN. Settings come from settings.json.
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
import { here, n, option, repo, settings, suiteN, threads } from './options.mjs';

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
const advkit = run(
  `advkit wasm ${threads} thread(s)`,
  process.execPath,
  [
    path.join(here, 'worker.mjs'),
    '--n',
    String(n),
    '--suite-n',
    String(suiteN),
    '--threads',
    String(threads),
  ],
  { ADVKIT_DATA: dataDir },
);

// --- tables ---------------------------------------------------------------------------------------------------
const fmt = (v) => (v === 0 ? '0' : v >= 100 ? String(Math.round(v)) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const pct = (v) => `${(100 * v).toFixed(1)}%`;
const table = (header, rows) =>
  [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
const differing = (a, b) => [...a].filter((c, i) => c !== b[i]).length;

const ours = advkit.find((r) => r.record === 'apgd-ce');
const refs = torch.filter((r) => r.record === 'apgd-ce');
const rows = [
  ...refs.map((r) => [`PyTorch 1.13 CPU, ${r.variant}`, r]),
  ...(ours ? [['advkit, evaluateRobustness', ours]] : []),
].map(([side, r]) => [
  side,
  pct(r.robust_accuracy),
  fmt(r.gradients_per_point),
  fmt(r.queries_per_point),
  fmt(r.seconds),
  fmt(r.points_per_s),
  fmt(r.points_per_s * r.gradients_per_point),
  ours ? fmt(ours.points_per_s / r.points_per_s) : '-',
  ours ? fmt((ours.points_per_s * ours.gradients_per_point) / (r.points_per_s * r.gradients_per_point)) : '-',
  ours ? String(differing(ours.robust, r.robust)) : '-',
]);
console.log(`\n### APGD-CE on the first ${n} MNIST test images (Linf 0.3, 100 steps, 1 restart)\n`);
console.log(
  table(
    [
      'side',
      'robust accuracy',
      'gradients/point',
      'queries/point',
      'seconds',
      'points/s',
      'gradients/s',
      'advkit / this, points/s',
      'advkit / this, gradients/s',
      'points judged differently from advkit',
    ],
    rows,
  ),
);

const suite = advkit.find((r) => r.record === 'standard');
if (suite) {
  console.log(`\n### advkit, standard suite on the first ${suite.n} MNIST test images (Linf 0.3)\n`);
  console.log(
    table(
      ['attack', 'points attacked', 'gradients/point', 'queries/point', 'seconds', 'robust accuracy after'],
      [
        ['clean', String(suite.n), '0', '-', '-', pct(suite.clean_accuracy)],
        ...suite.steps.map((s) => [
          s.name,
          String(s.attacked),
          fmt(s.gradients_per_point),
          fmt(s.queries_per_point),
          fmt(s.seconds),
          pct(s.accuracy_after),
        ]),
        [
          '**whole evaluation**',
          String(suite.n),
          fmt(suite.gradients_per_point),
          fmt(suite.queries_per_point),
          fmt(suite.seconds),
          pct(suite.robust_accuracy),
        ],
      ],
    ),
  );
  console.log(`\nstandard suite: ${fmt(suite.points_per_s)} points/s`);
}

const cleanTorch = torch.find((r) => r.record === 'clean');
const cleanOurs = advkit.find((r) => r.record === 'clean');
if (cleanTorch && cleanOurs) {
  console.log(
    `sum of the clean logits over the ${n} images: PyTorch ${cleanTorch.logits_sum.toFixed(3)}, advkit ${cleanOurs.logits_sum.toFixed(3)}`,
  );
}
const env = torch.find((r) => r.record === 'env');
if (env) console.log(`PyTorch ${env.torch}, ${env.threads} threads`);
const leak = advkit.find((r) => r.record === 'tensors-left');
if (leak) console.log(`advkit left ${leak.count} tensors allocated (the model's weights are 8)`);
loads.push(`end ${loadavg()}`);
console.log(`load average (1, 5, 15 min): ${loads.join('; ')}`);
const jsonOut = option('json', undefined);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ torch, advkit, loads }, null, 1));
