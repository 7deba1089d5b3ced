// Explanation throughput and agreement: advkit's attribution methods beside an independent PyTorch implementation,
// on the same weights and the same inputs.
//
//   npm run build && node bench/explain/run.mjs [--quick] [--engines native,wasm] [--threads 2]
//                                               [--models mnist_cnn,cifar_cnn,darknet] [--only saliency,gradcam]
//                                               [--torch-omp-spin] [--json out.json]
//
// One run: worker.mjs, once per engine in its own process (native by default: tfjs wasm with convolutions and
// matrix products on advkit's oneDNN addon; --threads threads), loads the bundled MNIST and CIFAR CNNs
// (models/mnist-cnn, models/cifar-cnn) and the shared Darknet ImageNet model (../shared/models/darknet-tiny-
// imagenet), takes the first MNIST / CIFAR-10 test images and a few ImageNet photos (resized to 224x224 by advkit's
// image loader), writes inputs and logits out, times `explain` for saliency, SmoothGrad-50, IG-50 and Grad-CAM, and
// writes its maps. Then torch_explain.py (PyTorch CPU, OpenMP OpenBLAS, --threads threads) builds each network from
// its model.json and weight shards, checks its logits against advkit's, times its own plain-PyTorch implementation
// of each method doing the same work (see its docstring), and correlates its maps with advkit's. Settings (inputs,
// batch sizes, method parameters) come from settings.json, one source for both sides.
//
// Wait policy: PyTorch runs with OMP_WAIT_POLICY=PASSIVE (idle OpenMP threads sleep), the policy advkit's native
// engine sets for itself; --torch-omp-spin leaves OpenMP's default (spin, then sleep). On this shared 2-core machine
// the default made PyTorch 6-15x slower whenever other jobs ran (a thread spins at every barrier while its partner
// waits for a core): see bench/RESULTS.md.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
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
const engines = parseEngines(option('engines', 'native'));
const passThrough = [
  '--threads',
  threads,
  ...(quick ? ['--quick'] : []),
  ...['only', 'models'].flatMap((o) => (option(o) ? [`--${o}`, option(o)] : [])),
];
const settings = JSON.parse(fs.readFileSync(path.join(here, 'settings.json'), 'utf8'));
const dataEnv = { ADVKIT_DATA: process.env.ADVKIT_DATA ?? path.resolve(repo, '../shared/datasets') };

if (!fs.existsSync(path.join(repo, 'dist/index.js'))) {
  console.error('dist/ is missing: run `npm run build` first.');
  process.exit(1);
}

const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/**
 * A side of the bench (a worker or the PyTorch script) started with --paced: it announces each step with a
 * {"wait": step} line and waits for `go()`; its other JSON lines are its records.
 */
function startSide(label, command, args, env = {}) {
  const child = spawn(command, [...args, '--paced'], {
    cwd: repo,
    env: { ...process.env, ...dataEnv, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const records = [];
  const queue = [];
  const waiting = [];
  const push = (v) => (waiting.length > 0 ? waiting.shift()(v) : queue.push(v));
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    const rec = JSON.parse(line);
    if (rec.wait !== undefined) push(rec.wait);
    else records.push(rec);
  });
  child.on('close', (code, signal) => {
    if (code !== 0) {
      console.error(`${label}: failed (exit ${code ?? signal})\n${stderr}`);
      process.exit(1);
    }
    push(null);
  });
  return {
    label,
    records,
    /** The next step it waits for; null once it has exited. */
    next: () => new Promise((resolve) => (queue.length > 0 ? resolve(queue.shift()) : waiting.push(resolve))),
    go: () => child.stdin.write('go\n'),
  };
}

const startedAt = new Date();
console.error(`load average at start: ${loadavg()} (${os.cpus().length} cpus)`);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'advkit-bench-explain-'));
let records;
try {
  const sides = [
    ...engines.map((engine) =>
      startSide(`advkit ${engine} ${threads} thread(s)`, process.execPath, [
        path.join(here, 'worker.mjs'),
        ...['--data', dataDir, '--backend', engine],
        ...passThrough,
      ]),
    ),
    startSide(
      'pytorch',
      '/usr/bin/python3',
      [path.join(here, 'torch_explain.py'), '--data', dataDir, ...passThrough],
      {
        LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/openblas-openmp',
        ...(argv.includes('--torch-omp-spin') ? {} : { OMP_WAIT_POLICY: 'PASSIVE' }),
      },
    ),
  ];
  // Every side runs the same steps in the same order; each step runs on one side at a time, the sides in turn,
  // so the runs of a method on both sides are close in time and see the same load.
  const steps = await Promise.all(sides.map((s) => s.next()));
  while (steps.some((label) => label !== null)) {
    if (steps.some((label) => label !== steps[0])) {
      console.error(
        `the sides are out of step: ${sides.map((s, i) => `${s.label} at ${steps[i]}`).join(', ')}`,
      );
      process.exit(1);
    }
    const started = Date.now();
    for (let i = 0; i < sides.length; i++) {
      sides[i].go();
      steps[i] = await sides[i].next();
    }
    console.error(
      `${steps[0] === null ? 'last step' : 'step'} done in ${((Date.now() - started) / 1000).toFixed(1)}s, load average ${loadavg()}; next: ${steps[0]}`,
    );
  }
  records = sides.flatMap((s) => s.records);
} finally {
  fs.rmSync(dataDir, { recursive: true, force: true });
}
console.error(`load average at end: ${loadavg()}`);

// --- side-by-side table ---------------------------------------------------------------------------------------
const fmt = (v) =>
  v === undefined ? '-' : v >= 100 ? String(Math.round(v)) : v >= 1 ? v.toFixed(1) : v.toFixed(2);
// Six decimals where the maps agree to rounding, so that 0.99999 and 1 - 1e-12 stay apart.
const digits = (v) => v.toFixed(v > 0.999 ? 6 : 4);
const corr = (c) =>
  c === undefined || c.mean === null
    ? '-'
    : `${digits(c.mean)} (${digits(c.min)})${c.undefined > 0 ? `, ${c.undefined} constant` : ''}`;

function describe(m) {
  const p = m.params;
  if (m.method === 'smoothgrad') return `${p.samples} samples, sigma ${p.sigma}`;
  if (m.method === 'ig') return `${p.steps} x ${p.method}, ${p.baseline} baseline`;
  if (m.method === 'gradcam') return p.relu ? 'ReLU' : 'signed';
  return '';
}

const labels = [
  ...new Set(
    records.filter((r) => r.framework === 'advkit-tfjs' && r.info === undefined).map((r) => r.engine),
  ),
];
const rows = [];
for (const model of Object.keys(settings.models)) {
  for (const m of settings.methods) {
    const find = (pred) => records.find((r) => pred(r) && r.model === model && r.method === m.id);
    const torch = find((r) => r.framework === 'pytorch-cpu');
    const ours = labels.map((e) => find((r) => r.engine === e));
    const first = ours.find((r) => r !== undefined);
    if (!torch || !first) continue;
    const agree = (r) => r.predictions.filter((p, i) => p === torch.predictions[i]).length;
    const notes = [];
    if (torch.correlation_torch_seed0_vs_seed1)
      notes.push(`torch seed 0 vs 1: ${corr(torch.correlation_torch_seed0_vs_seed1)}`);
    if (torch.ig_gap_median !== undefined)
      notes.push(
        `median completeness gap ${[...ours.map((r) => r?.ig_gap_median), torch.ig_gap_median]
          .map((g) => (g === undefined ? '-' : g.toFixed(4)))
          .join(' / ')}`,
      );
    if (first.layer) notes.push(`layer ${first.layer}`);
    rows.push([
      model,
      m.id,
      describe(m),
      String(first.n),
      String(first.batch),
      `${fmt(first.gradients_per_image)} / ${fmt(torch.gradients_per_image)}`,
      fmt(torch.images_per_s),
      ...ours.map((r) => fmt(r?.images_per_s)),
      ...ours.map((r) => ratio(r?.images_per_s, torch.images_per_s)),
      ...ours.map((r) => corr(torch.correlation[r?.engine])),
      ours.map((r) => (r ? `${agree(r)}/${r.n}` : '-')).join(' / '),
      notes.join('; '),
    ]);
  }
}
const header = [
  'model',
  'method',
  'settings',
  'images',
  'batch',
  'gradients/img advkit / torch',
  'pytorch img/s',
  ...labels.map((e) => `advkit ${e} img/s`),
  ...labels.map((e) => `${e} / pytorch`),
  ...labels.map((e) => `map correlation ${e} vs torch, mean (min)`),
  'same target',
  'notes',
];
console.log(
  `\n## Explanations (advkit ${labels.join(', ')} vs PyTorch CPU ${threads} threads; ${startedAt.toISOString()})\n`,
);
console.log(markdownTable(header, rows));
console.log('');
for (const c of records.filter((r) => r.info === 'logits-check'))
  console.log(
    `${c.model}: PyTorch logits vs advkit's, max |diff| ${c.max_abs_diff_vs_advkit.toExponential(1)} ` +
      `(largest |logit| ${c.max_abs_logit.toFixed(1)}), same argmax ${c.argmax_agree}/${c.n}`,
  );
for (const c of records.filter((r) => r.info === 'engine-logits-check'))
  console.log(
    `${c.model}: ${c.engine} logits vs ${c.exported_by}'s, max |diff| ${c.max_abs_diff.toExponential(1)}`,
  );
const env = records.find((r) => r.framework === 'pytorch-cpu' && r.info === 'env');
if (env) console.log(`PyTorch ${env.torch}, ${env.threads} threads, oneDNN ${env.mkldnn}, BLAS ${env.blas}`);
for (const leak of records.filter((r) => r.info === 'tensors-left'))
  console.log(`advkit ${leak.engine} left ${leak.count} tensors allocated`);
const jsonOut = option('json', undefined);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(records, null, 1));
