// Defense costs: the input-transform defenses' cost per image beside the undefended model's, and randomized
// smoothing's CERTIFY beside an independent PyTorch implementation on the same weights and images.
//
//   npm run build && node bench/defend/run.mjs [--quick] [--engines native,wasm] [--threads 2] [--model DIR]
//                                              [--skip-transforms] [--skip-certify] [--torch-omp-spin]
//                                              [--json out.json]
//
// One run, two parts, settings from settings.json (one source for both sides):
// 1. Transforms: worker.mjs --part transforms, once per engine in its own process (native: tfjs wasm with
//    convolutions and matrix products on advkit's oneDNN addon; wasm: advkit's SIMD kernels; --threads threads),
//    times on the first CIFAR-10 test images, for each defense spec (jpeg:75, bits:4, median:3, blur:1,
//    resize-pad:0.1, tv:0.01 and the chain jpeg:75,bits:4, built by `new DefendedModel(model, spec)`): the chain
//    alone forward, and forward + backward (BPDA's identity through the transforms without a gradient of their
//    own), and the defended model's forward pass and input gradient, each beside the undefended model's forward
//    pass and input gradient timed in the same rep. The fastest rep counts (on a loaded machine a call takes one to
//    three times its cost). Ratios transform / model within one engine.
// 2. CERTIFY (Cohen, Rosenfeld & Kolter 2019) at sigma 0.25, n0 100, alpha 0.001 and a reduced n (settings.json;
//    the paper's 100,000 would take hours here), batchSize noisy copies per pass: worker.mjs --part certify per
//    engine and torch_certify.py (PyTorch CPU, OpenMP OpenBLAS, --threads threads; its own CERTIFY and
//    Clopper-Pearson, the network rebuilt by bench/explain's KerasChain) as processes whose steps alternate
//    (set-up, warm-up, each timed run), so both sides' runs see the same load. Ratio advkit / PyTorch samples/s;
//    per point, both sides' prediction and radius, and whether the radii differ by more than the sampling noise.
//
// Wait policy: PyTorch runs with OMP_WAIT_POLICY=PASSIVE (idle OpenMP threads sleep), the policy advkit's native
// engine sets for itself; --torch-omp-spin leaves OpenMP's default (see bench/RESULTS.md, "OpenMP's wait policy").
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { normalInverseCdf } from '../../dist/index.js';
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
  ...(option('model') ? ['--model', option('model')] : []),
];
const settings = JSON.parse(fs.readFileSync(path.join(here, 'settings.json'), 'utf8'));
const dataEnv = { ADVKIT_DATA: process.env.ADVKIT_DATA ?? path.resolve(repo, '../shared/datasets') };
const torchEnv = {
  LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/openblas-openmp',
  ...(argv.includes('--torch-omp-spin') ? {} : { OMP_WAIT_POLICY: 'PASSIVE' }),
};

if (!fs.existsSync(path.join(repo, 'dist/index.js'))) {
  console.error('dist/ is missing: run `npm run build` first.');
  process.exit(1);
}

const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const parseRecords = (text) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));

/** Runs a worker to its end and returns its records. */
function runToEnd(label, args) {
  const started = Date.now();
  const out = spawnSync(process.execPath, args, {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, ...dataEnv },
    maxBuffer: 1 << 26,
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (out.status !== 0) {
    console.error(`${label}: failed (exit ${out.status ?? out.signal})\n${(out.stderr ?? '').slice(-3000)}`);
    process.exit(1);
  }
  console.error(`${label}: done in ${seconds}s, load average ${loadavg()}`);
  return parseRecords(out.stdout);
}

/**
 * A side started with --paced: it announces each step with a {"wait": step} line and waits for `go()`; its other
 * JSON lines are its records.
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

/** Runs the sides' steps in turn (every side the same steps, in the same order) and returns all their records. */
async function alternate(sides) {
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
      `certify: step done in ${((Date.now() - started) / 1000).toFixed(1)}s, load average ${loadavg()}; next: ${steps[0]}`,
    );
  }
  return sides.flatMap((s) => s.records);
}

const startedAt = new Date();
console.error(`load average at start: ${loadavg()} (${os.cpus().length} cpus)`);
const records = [];
if (!argv.includes('--skip-transforms')) {
  for (const engine of engines)
    records.push(
      ...runToEnd(`transforms, advkit ${engine} ${threads} thread(s)`, [
        path.join(here, 'worker.mjs'),
        ...['--part', 'transforms', '--backend', engine],
        ...passThrough,
      ]),
    );
}
if (!argv.includes('--skip-certify')) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'advkit-bench-defend-'));
  try {
    const sides = [
      ...engines.map((engine) =>
        startSide(`certify, advkit ${engine} ${threads} thread(s)`, process.execPath, [
          path.join(here, 'worker.mjs'),
          ...['--part', 'certify', '--data', dataDir, '--backend', engine],
          ...passThrough,
        ]),
      ),
      startSide(
        'certify, pytorch',
        '/usr/bin/python3',
        [
          path.join(here, 'torch_certify.py'),
          '--data',
          dataDir,
          '--threads',
          threads,
          ...(quick ? ['--quick'] : []),
        ],
        torchEnv,
      ),
    ];
    records.push(...(await alternate(sides)));
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
console.error(`load average at end: ${loadavg()}`);

// --- tables ------------------------------------------------------------------------------------------------------
const fmt = (v) =>
  v === undefined ? '-' : v >= 100 ? String(Math.round(v)) : v >= 1 ? v.toFixed(2) : v.toFixed(3);
const model = option('model', settings.model);
const labels = [...new Set(records.filter((r) => r.framework === 'advkit-tfjs').map((r) => r.engine))];

const transformRows = records.filter((r) => r.part === 'transforms' && r.defense !== undefined);
if (transformRows.length > 0) {
  console.log(
    `\n## Input-transform defenses on ${model} (advkit ${labels.join(', ')}; ${startedAt.toISOString()})\n`,
  );
  console.log(
    'ms per image (fastest of the reps / batch); ratios to the undefended model timed in the same reps: transform / model ' +
      'forward, transform forward+backward / model gradient, defended model / model.\n',
  );
  const header = [
    'engine',
    'defense',
    'gradient',
    'batch',
    'model fwd ms',
    'transform fwd ms',
    'transform / model fwd',
    'defended fwd / model fwd',
    'model grad ms',
    'transform fwd+bwd ms',
    'transform fwd+bwd / model grad',
    'defended grad / model grad',
  ];
  const rows = transformRows.map((r) => {
    const t = r.ms_per_image;
    return [
      r.engine,
      `\`${r.defense}\`${r.random ? ' (random)' : ''}`,
      r.differentiable ? 'own' : 'BPDA',
      String(r.batch),
      fmt(t.model_forward),
      fmt(t.transform_forward),
      ratio(t.transform_forward, t.model_forward),
      ratio(t.defended_forward, t.model_forward),
      fmt(t.model_gradient),
      fmt(t.transform_forward_backward),
      ratio(t.transform_forward_backward, t.model_gradient),
      ratio(t.defended_gradient, t.model_gradient),
    ];
  });
  console.log(markdownTable(header, rows));
}

const torch = records.find((r) => r.framework === 'pytorch-cpu' && r.part === 'certify' && r.points);
const ours = labels.map((e) => records.find((r) => r.engine === e && r.part === 'certify' && r.points));
if (torch !== undefined) {
  const p = torch;
  console.log(
    `\n## CERTIFY on ${model} (sigma ${p.sigma}, n0 ${p.n0}, n ${p.n}, alpha ${p.alpha}, batch ${p.batchSize}; ` +
      `advkit ${labels.join(', ')} vs PyTorch CPU ${threads} threads; ${startedAt.toISOString()})\n`,
  );
  const header = [
    'side',
    'images',
    'samples / image',
    's / image',
    'samples/s',
    'advkit / PyTorch samples/s',
  ];
  const rows = [
    ['pytorch', String(p.images), String(p.n0 + p.n), fmt(p.s_per_image), fmt(p.samples_per_s), '1.00'],
    ...ours
      .filter((r) => r !== undefined)
      .map((r) => [
        `advkit ${r.engine}`,
        String(r.images),
        String(r.n0 + r.n),
        fmt(r.s_per_image),
        fmt(r.samples_per_s),
        ratio(r.samples_per_s, p.samples_per_s),
      ]),
  ];
  console.log(markdownTable(header, rows));

  // Per point: both sides' answers. Two honest runs differ by sampling noise only: the s.e. of the difference of two
  // radii is about sigma * sqrt(2 pA (1 - pA) / n) / phi(Phi^-1(pA_lower)) (delta method on radius = sigma
  // Phi^-1(pA_lower), pA_lower moving with the estimate of pA).
  const phi = (z) => Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI);
  const share = (point) => (point.prediction >= 0 ? point.counts[point.prediction] / p.n : undefined);
  const pointHeader = [
    'image',
    'label',
    'clean prediction',
    'pytorch: class, radius (pA_lower)',
    ...ours.filter((r) => r !== undefined).map((r) => `${r.engine}: class, radius (pA_lower)`),
    ...ours.filter((r) => r !== undefined).map((r) => `${r.engine} - pytorch radius (s.e.)`),
  ];
  const answer = (pt) =>
    `${pt.prediction < 0 ? 'abstain' : `${pt.prediction}, ${pt.radius.toFixed(3)}`} (${pt.pALower.toFixed(3)})`;
  const summary = ours.filter((r) => r !== undefined).map((r) => ({ engine: r.engine, same: 0, close: 0 }));
  const pointRows = p.points.map((tp, i) => {
    const diffs = ours
      .filter((r) => r !== undefined)
      .map((r, k) => {
        const ap = r.points[i];
        const same = ap.prediction === tp.prediction;
        const shares = [share(ap), share(tp)].filter((v) => v !== undefined);
        const pA = shares.reduce((a, b) => a + b, 0) / Math.max(1, shares.length);
        const lower = (ap.pALower + tp.pALower) / 2;
        const se =
          shares.length === 0 || lower <= 0.5 || lower >= 1
            ? 0
            : (p.sigma * Math.sqrt((2 * pA * (1 - pA)) / p.n)) / phi(normalInverseCdf(lower));
        const diff = ap.radius - tp.radius;
        const close = same && Math.abs(diff) <= 3 * se + 1e-9;
        summary[k].same += same ? 1 : 0;
        summary[k].close += close ? 1 : 0;
        return `${diff >= 0 ? '+' : ''}${diff.toFixed(3)} (${se.toFixed(3)})${close ? '' : ' **differs**'}`;
      });
    return [
      String(i),
      String(tp.label),
      String(tp.clean_prediction),
      answer(tp),
      ...ours.filter((r) => r !== undefined).map((r) => answer(r.points[i])),
      ...diffs,
    ];
  });
  console.log('');
  console.log(markdownTable(pointHeader, pointRows));
  console.log('');
  for (const s of summary)
    console.log(
      `${s.engine} vs pytorch: same prediction on ${s.same}/${p.points.length} points; radii within 3 s.e. of ` +
        `the sampling noise on ${s.close}/${p.points.length}.`,
    );
  for (const c of records.filter((r) => r.info === 'bound-check'))
    console.log(
      `PyTorch's Clopper-Pearson bound and radius on ${c.engine}'s counts: max |diff| ` +
        `${c.max_abs_diff_p_lower.toExponential(1)} (pA_lower), ${c.max_abs_diff_radius.toExponential(1)} (radius).`,
    );
}
const env = records.find((r) => r.framework === 'pytorch-cpu' && r.info === 'env');
if (env)
  console.log(
    `PyTorch ${env.torch}, ${env.threads} threads, oneDNN ${env.mkldnn}, OMP_WAIT_POLICY ${env.omp_wait_policy}`,
  );
for (const leak of records.filter((r) => r.info === 'tensors-left'))
  console.log(`advkit ${leak.engine} (${leak.part}) left ${leak.count} tensors allocated`);
const jsonOut = option('json', undefined);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(records, null, 1));
