// Adversarial training speed: advkit beside PyTorch CPU, the same training steps on the same networks,
// initial weights, images and settings.
//
//   npm run build && node bench/training/run.mjs [--quick] [--threads 2] [--models mnist_cnn,cifar_cnn]
//                                               [--epoch-check] [--json out.json]
//
// One run: worker.mjs (advkit, tfjs wasm with advkit's kernels, 2 threads) loads the real training images
// (ADVKIT_DATA, default ../shared/datasets), builds advkit's 'mnist-cnn' and 'cifar-cnn' (plain and with batch
// normalization) with seeded weights, exports weights and images, and times the optimizer steps of the
// library's `train` (the code `advkit train --adversarial ...` runs): standard, FGSM-RS and PGD-7. Then
// torch_training.py (PyTorch CPU, OpenMP OpenBLAS, 2 threads) loads the same weights and images (checking its
// logits against advkit's) and times the same steps in a reference training loop. Settings (batch, eps, step
// sizes, SGD) come from settings.json, one source for both sides.
//
// Conventions (both sides):
// - A step is one optimizer step of the training loop on the next `batch` training images: uint8 to float,
//   the inner maximisation (model in inference mode, uniform random start, every step for every example, last
//   iterate projected onto the ball and [0, 1]), forward and backward in training mode, an SGD update (momentum
//   0.9, coupled weight decay), and the loss read back. advkit's step also runs one inference forward pass on
//   the clean images for its progress report (clean loss and accuracy); PyTorch's reference loop does not.
// - `warmup` steps are not timed; the median of the `timed` steps gives images/s = batch / median.
// - Epoch time = steps per epoch (training images / batch, rounded up) x the median step: an extrapolation,
//   without the epoch's evaluation, checkpoint or FGSM-RS guard. --epoch-check also runs one real epoch of
//   `node bin/advkit.js train` (MNIST, FGSM-RS, the same settings, no guard) to check it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const quick = argv.includes('--quick');
const threads = option('threads', '2');
const passThrough = [
  '--threads',
  threads,
  ...(quick ? ['--quick'] : []),
  ...(option('models') ? ['--models', option('models')] : []),
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
  console.error(`${label}: done in ${seconds.toFixed(1)}s (load average ${loadavg()})`);
  return { stdout: out.stdout, seconds };
}

const records = (stdout) =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));

console.error(`load average at start: ${loadavg()} (${os.cpus().length} cpus)`);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'advkit-bench-training-'));
let all;
let epochCheck;
try {
  all = [
    ...records(
      run(
        `advkit wasm ${threads} thread(s)`,
        process.execPath,
        [path.join(here, 'worker.mjs'), '--data', dataDir, ...passThrough],
        dataEnv,
      ).stdout,
    ),
    ...records(
      run(
        'pytorch',
        '/usr/bin/python3',
        [path.join(here, 'torch_training.py'), '--data', dataDir, ...passThrough],
        {
          LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/openblas-openmp',
        },
      ).stdout,
    ),
  ];
  if (argv.includes('--epoch-check')) epochCheck = realEpoch(dataDir);
} finally {
  fs.rmSync(dataDir, { recursive: true, force: true });
}
console.error(`load average at end: ${loadavg()}`);

/** One real epoch of `advkit train` on MNIST with FGSM-RS and the settings of mnist_cnn (shuffled, no guard). */
function realEpoch(dir) {
  const spec = settings.models.mnist_cnn;
  const fgsm = settings.methods.find((m) => m.id === 'fgsm_rs').adversarial;
  const o = settings.optimizer;
  const args = [
    ...['train', '--data', spec.dataset, '--arch', spec.architecture, '--backend', 'wasm'],
    ...[
      '--adversarial',
      'fgsm-rs',
      '--eps',
      String(spec.eps),
      '--attack-step-size',
      String(fgsm.stepSizeOfEps * spec.eps),
    ],
    ...['--no-guard', '--epochs', '1', '--batch-size', String(spec.batch), '--optimizer', o.optimizer],
    ...['--lr', String(o.lr), '--momentum', String(o.momentum), '--weight-decay', String(o.weightDecay)],
    ...['--eval-split', 'none', '--seed', '0', '--out', path.join(dir, 'epoch-check'), '--json'],
  ];
  const { stdout, seconds } = run(
    'advkit train, one MNIST FGSM-RS epoch',
    process.execPath,
    ['bin/advkit.js', ...args],
    {
      ...dataEnv,
      ADVKIT_THREADS: threads,
    },
  );
  const summary = JSON.parse(stdout);
  return {
    command: `node bin/advkit.js ${args.join(' ').replace(dir, '$TMP')}`,
    seconds: summary.seconds,
    wall: seconds,
    steps: summary.steps,
  };
}

// --- side-by-side table ---------------------------------------------------------------------------------------
const fmt = (v) => (v >= 100 ? String(Math.round(v)) : v.toFixed(1));
const minutes = (s) => `${(s / 60).toFixed(1)} min`;
const fraction = (value) => {
  const k = Math.round(value * 255);
  return Math.abs(value * 255 - k) < 1e-9 && !Number.isInteger(value) ? `${k}/255` : String(value);
};

/**
 * Passes per image of one step: the inner maximisation's gradients (forward + input gradient) and the training
 * pass (forward + weight gradient), and advkit's forward pass on the clean images for its progress report.
 */
function passes(method) {
  const a = method.adversarial;
  const attack = a === null ? 0 : a.method === 'fgsm-rs' ? 1 : a.steps;
  const clean = a === null ? 0 : 1;
  return { advkitForward: attack + 1 + clean, torchForward: attack + 1, backward: attack + 1 };
}

function describe(method, spec) {
  const a = method.adversarial;
  if (a === null) return 'no attack';
  if (a.method === 'fgsm-rs')
    return `eps ${fraction(spec.eps)}, step ${fraction(a.stepSizeOfEps * spec.eps)}`;
  return `eps ${fraction(spec.eps)}, ${a.steps} x ${fraction(spec.pgd7StepSize)}`;
}

const rows = [];
for (const [model, spec] of Object.entries(settings.models)) {
  for (const method of settings.methods) {
    const find = (framework) =>
      all.find((r) => r.framework === framework && r.model === model && r.method === method.id);
    const torch = find('pytorch-cpu');
    const advkit = find('advkit-tfjs');
    if (!torch || !advkit) continue;
    rows.push([
      model,
      method.id,
      describe(method, spec),
      String(spec.batch),
      `${passes(method).advkitForward} / ${passes(method).torchForward}`,
      String(passes(method).backward),
      fmt(torch.images_per_s),
      fmt(advkit.images_per_s),
      (advkit.images_per_s / torch.images_per_s).toFixed(2),
      String(advkit.steps_per_epoch),
      minutes(torch.epoch_s_extrapolated),
      minutes(advkit.epoch_s_extrapolated),
      `${advkit.step_losses.at(-1).toFixed(3)} / ${torch.step_losses.at(-1).toFixed(3)}`,
    ]);
  }
}
const header = [
  'model',
  'step',
  'settings',
  'batch',
  'forward passes/img advkit / torch',
  'backward passes/img',
  'pytorch img/s',
  'advkit img/s',
  'advkit / pytorch',
  'steps/epoch',
  'pytorch epoch',
  'advkit epoch',
  'last step loss advkit / torch',
];
console.log(
  `\n## Training step throughput (advkit wasm ${threads} threads vs PyTorch CPU ${threads} threads)\n`,
);
console.log([header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n'));
for (const c of all.filter((r) => r.info === 'logits-check'))
  console.log(
    `\n${c.model}: PyTorch logits vs advkit's, max |diff| ${c.max_abs_diff_vs_advkit.toExponential(1)}`,
  );
const env = all.find((r) => r.framework === 'pytorch-cpu' && r.info === 'env');
if (env) console.log(`PyTorch ${env.torch}, ${env.threads} threads, BLAS: ${env.blas_libs.join(', ')}`);
const leak = all.find((r) => r.info === 'tensors-left');
if (leak) console.log(`advkit left ${leak.count} tensors allocated`);
if (epochCheck !== undefined) {
  const predicted = all.find(
    (r) => r.framework === 'advkit-tfjs' && r.model === 'mnist_cnn' && r.method === 'fgsm_rs',
  );
  console.log(
    `\nOne real epoch (${epochCheck.steps} steps): training loop ${epochCheck.seconds.toFixed(0)} s, process ${epochCheck.wall.toFixed(0)} s` +
      (predicted
        ? `; extrapolated from the bench's median step: ${predicted.epoch_s_extrapolated.toFixed(0)} s`
        : '') +
      `\n  ${epochCheck.command}`,
  );
}
const jsonOut = option('json', undefined);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ records: all, epochCheck }, null, 1));
