// Adversarial training speed: advkit's engines beside PyTorch CPU, the same training steps on the same networks,
// initial weights, images and settings.
//
//   npm run build && node bench/training/run.mjs [--quick] [--engines native,wasm] [--threads 2]
//       [--models mnist_cnn,cifar_cnn,cifar_cnn_bn,preact_resnet18] [--epoch-check] [--json out.json]
//
// One run: worker.mjs, once per engine in its own process (native: tfjs wasm with convolutions and matrix
// products on oneDNN; wasm: tfjs wasm with advkit's kernels; both on --threads threads), loads the real training
// images (ADVKIT_DATA, default ../shared/datasets), builds advkit's 'mnist-cnn' and 'cifar-cnn' (plain and with
// batch normalization) with seeded weights, exports weights and images (the first engine; the next ones check
// their logits against it), and times the optimizer steps of the library's `train` (the code `advkit train
// --adversarial ...` runs): standard, FGSM-RS and PGD-7. Then torch_training.py (PyTorch CPU, OpenMP OpenBLAS,
// --threads threads) loads the same weights and images (checking its logits against advkit's) and times the same
// steps in a reference training loop. Settings (batch, eps, step sizes, SGD) come from settings.json, one source
// for all sides. PreAct ResNet-18 (PGD-7 only, 1 + 2 steps) is opt-in: name it in --models (about 5 minutes).
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
    ...engines.flatMap((engine) =>
      records(
        run(
          `advkit ${engine} ${threads} thread(s)`,
          process.execPath,
          [path.join(here, 'worker.mjs'), '--data', dataDir, '--backend', engine, ...passThrough],
          dataEnv,
        ).stdout,
      ),
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

/**
 * One real epoch of `advkit train` on MNIST with FGSM-RS and the settings of mnist_cnn (shuffled, no guard), on
 * the first engine.
 */
function realEpoch(dir) {
  const spec = settings.models.mnist_cnn;
  const fgsm = settings.methods.find((m) => m.id === 'fgsm_rs').adversarial;
  const o = settings.optimizer;
  const args = [
    ...['train', '--data', spec.dataset, '--arch', spec.architecture, '--backend', engines[0]],
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
    `advkit train, one MNIST FGSM-RS epoch, ${engines[0]}`,
    process.execPath,
    ['bin/advkit.js', ...args],
    {
      ...dataEnv,
      ADVKIT_THREADS: threads,
    },
  );
  const summary = JSON.parse(stdout);
  return {
    engine: engines[0],
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

const labels = [
  ...new Set(all.filter((r) => r.framework === 'advkit-tfjs' && r.info === undefined).map((r) => r.engine)),
];
const native = labels.find((e) => e.startsWith('native'));
const wasm = labels.find((e) => e.startsWith('wasm'));
const rows = [];
for (const [model, spec] of Object.entries(settings.models)) {
  for (const method of settings.methods) {
    const find = (pred) => all.find((r) => pred(r) && r.model === model && r.method === method.id);
    const torch = find((r) => r.framework === 'pytorch-cpu');
    const ours = labels.map((e) => find((r) => r.engine === e));
    const of = (e) => ours[labels.indexOf(e)];
    const first = ours.find((r) => r !== undefined);
    if (!torch || !first) continue;
    rows.push([
      model,
      method.id,
      describe(method, spec),
      String(first.batch),
      `${passes(method).advkitForward} / ${passes(method).torchForward}`,
      String(passes(method).backward),
      fmt(torch.images_per_s),
      ...ours.map((r) => (r ? fmt(r.images_per_s) : '-')),
      ...labels.map((e) => ratio(of(e)?.images_per_s, torch.images_per_s)),
      ...(native && wasm ? [ratio(of(native)?.images_per_s, of(wasm)?.images_per_s)] : []),
      String(first.steps_per_epoch),
      minutes(torch.epoch_s_extrapolated),
      ...ours.map((r) => (r ? minutes(r.epoch_s_extrapolated) : '-')),
      [...ours.map((r) => r?.step_losses.at(-1).toFixed(3) ?? '-'), torch.step_losses.at(-1).toFixed(3)].join(
        ' / ',
      ),
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
  ...labels.map((e) => `${e} img/s`),
  ...labels.map((e) => `${e} / pytorch`),
  ...(native && wasm ? [`${native} / ${wasm}`] : []),
  'steps/epoch',
  'pytorch epoch',
  ...labels.map((e) => `${e} epoch`),
  `last step loss ${[...labels, 'torch'].join(' / ')}`,
];
console.log(
  `\n## Training step throughput (advkit ${labels.join(', ')} vs PyTorch CPU ${threads} threads)\n`,
);
console.log(markdownTable(header, rows));
for (const c of all.filter((r) => r.info === 'logits-check'))
  console.log(
    `\n${c.model}: PyTorch logits vs advkit's, max |diff| ${c.max_abs_diff_vs_advkit.toExponential(1)}`,
  );
const env = all.find((r) => r.framework === 'pytorch-cpu' && r.info === 'env');
if (env) console.log(`PyTorch ${env.torch}, ${env.threads} threads, BLAS: ${env.blas_libs.join(', ')}`);
for (const c of all.filter((r) => r.info === 'engine-logits-check'))
  console.log(
    `${c.model}: ${c.engine} logits vs ${c.exported_by}'s, max |diff| ${c.max_abs_diff.toExponential(1)}`,
  );
for (const leak of all.filter((r) => r.info === 'tensors-left'))
  console.log(`advkit ${leak.engine} left ${leak.count} tensors allocated`);
if (epochCheck !== undefined) {
  const predicted = all.find(
    (r) =>
      r.framework === 'advkit-tfjs' &&
      r.engine.startsWith(epochCheck.engine) &&
      r.model === 'mnist_cnn' &&
      r.method === 'fgsm_rs',
  );
  console.log(
    `\nOne real epoch on ${epochCheck.engine} (${epochCheck.steps} steps): training loop ${epochCheck.seconds.toFixed(0)} s, process ${epochCheck.wall.toFixed(0)} s` +
      (predicted
        ? `; extrapolated from the bench's median step: ${predicted.epoch_s_extrapolated.toFixed(0)} s`
        : '') +
      `\n  ${epochCheck.command}`,
  );
}
const jsonOut = option('json', undefined);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ records: all, epochCheck }, null, 1));
