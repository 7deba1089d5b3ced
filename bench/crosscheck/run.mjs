// Cross-check of advkit's attacks against PyTorch on the same weights and the same images.
//
//   npm run build && node bench/crosscheck/run.mjs [--n 1000] [--eps 0.1,0.2,0.3] [--engine native|wasm]
//
// Loads the bundled MNIST CNN (models/mnist-cnn) on both sides (PyTorch reads the tfjs weight files), takes the
// first n MNIST test images, and runs FGSM and PGD-40 (L-inf, step 0.01 * eps / 0.3, no random start so both
// sides are deterministic; advkit with earlyStop off so that both return the last iterate) at each eps. Prints
// clean and robust accuracy side by side. The two implementations were written independently from the papers;
// agreement within a few tenths of a percent (float rounding near the decision boundary) means advkit's attack is
// as strong as the reference one.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const n = Number(option('n', '1000'));
const epsList = option('eps', '0.1,0.2,0.3').split(',').map(Number);
const dataDir = process.env.ADVKIT_DATA ?? path.resolve(repo, '../shared/datasets');
const modelDir = path.join(repo, 'models/mnist-cnn');

const torch = spawnSync(
  '/usr/bin/python3',
  [
    path.join(here, 'torch_pgd.py'),
    '--model',
    modelDir,
    '--data',
    path.join(dataDir, 'mnist'),
    '--n',
    String(n),
    '--eps',
    epsList.join(','),
  ],
  {
    encoding: 'utf8',
    env: { ...process.env, LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/openblas-openmp' },
    maxBuffer: 1 << 24,
  },
);
if (torch.status !== 0) {
  console.error(`PyTorch side failed:\n${torch.stderr}`);
  process.exit(1);
}
const torchRows = torch.stdout
  .split('\n')
  .filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l));

const tf = await import('@tensorflow/tfjs-core');
const { initNodeBackend, loadClassifier, loadDataset } = await import(path.join(repo, 'dist/node.js'));
const { runAttack, fgsm, pgd, toTensors } = await import(path.join(repo, 'dist/index.js'));
const engine = await initNodeBackend({ backend: option('engine', 'native') });
console.error(`advkit engine: ${engine}`);
const model = await loadClassifier(modelDir);
const test = await loadDataset('mnist', { split: 'test', dir: dataDir, download: false });
const { x, y } = toTensors(
  test,
  Array.from({ length: n }, (_, i) => i),
);
const labels = Int32Array.from(y.dataSync());
const ours = [];
const clean = tf.tidy(() => tf.sum(tf.cast(model.logits(x), 'float32')).dataSync()[0]);
for (const [name, attack, params] of [
  ['fgsm', fgsm, {}],
  ['pgd40', pgd, { steps: 40, randomStart: false, earlyStop: false }],
]) {
  const run = await runAttack(model, attack, {
    x,
    labels,
    eps: epsList,
    params,
    batchSize: 250,
    keepAdversarial: false,
  });
  if (ours.length === 0)
    ours.push({ attack: 'clean', eps: 0, accuracy: run.cleanAccuracy, logits_sum: clean });
  for (const r of run.results) ours.push({ attack: name, eps: r.eps, accuracy: r.accuracy });
}

console.log(`MNIST CNN (models/mnist-cnn), first ${n} MNIST test images, L-inf, accuracy (%)`);
console.log('| attack | eps | PyTorch 1.13 | advkit | difference (points) |');
console.log('| --- | --- | --- | --- | --- |');
for (const row of ours) {
  const ref = torchRows.find((t) => t.attack === row.attack && Math.abs(t.eps - row.eps) < 1e-9);
  const a = (100 * row.accuracy).toFixed(1);
  const b = ref ? (100 * ref.accuracy).toFixed(1) : '-';
  const diff = ref ? (100 * (row.accuracy - ref.accuracy)).toFixed(1) : '-';
  console.log(`| ${row.attack} | ${row.eps} | ${b} | ${a} | ${diff} |`);
}
const refClean = torchRows.find((t) => t.attack === 'clean');
console.log(`sum of clean logits: PyTorch ${refClean?.logits_sum.toFixed(3)}, advkit ${clean.toFixed(3)}`);
