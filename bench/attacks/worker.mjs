// advkit's side of the attack benchmark: one process, one engine (native or wasm, ../engines.mjs).
//
//   node bench/attacks/worker.mjs --data DIR [--backend native|wasm] [--threads 2] [--quick] [--only fgsm,pgd10]
//
// Builds the reference CNNs with seeded weights, makes the inputs (seeded uniform [0, 1]; labels = the clean
// predictions, so every success is the attack's), writes weights, inputs, labels and clean logits to DIR for
// torch_attacks.py, then times runAttack for every attack of settings.json and prints one JSON line each. When
// an earlier engine's worker has already written DIR, this one attacks the points written there (the same
// seeded weights and inputs) and reports how far its clean logits are from the ones written.
import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClassifier, runAttack } from '../../dist/index.js';
import { engineInfo, startEngine } from '../engines.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const quick = argv.includes('--quick');
const dataDir = option('data', undefined);
if (dataDir === undefined) {
  console.error('worker.mjs needs --data DIR (where the weights and inputs for PyTorch go).');
  process.exit(2);
}
const threads = Number(option('threads', '2'));
const settings = JSON.parse(fs.readFileSync(path.join(here, 'settings.json'), 'utf8'));
const only = option('only', undefined)?.split(',');
const attacks = settings.attacks.filter((a) => only === undefined || only.includes(a.id));
const models = option('models', Object.keys(settings.models).join(',')).split(',');

const engine = await startEngine(option('backend', 'wasm'), threads);
const emit = (rec) => console.log(JSON.stringify({ framework: 'advkit-tfjs', engine, ...rec }));
emit({
  info: 'env',
  node: process.version,
  tfjs: tf.version_core,
  threads,
  cpus: os.cpus().length,
  ...(await engineInfo()),
});

/** Seeded uniform [0, 1) values (a 32-bit LCG): the same inputs every run, without a dataset. */
function uniform(count, seed) {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const modules = new Map();
async function attackObject(spec) {
  if (!modules.has(spec.module))
    modules.set(spec.module, await import(`../../dist/attacks/${spec.module}.js`));
  const found = modules.get(spec.module)[spec.attack];
  if (found === undefined) throw new Error(`dist/attacks/${spec.module}.js has no export '${spec.attack}'.`);
  return found;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;

for (const name of models) {
  const spec = settings.models[name];
  const classifier = createClassifier(spec.architecture, { inputShape: spec.shape, numClasses: 10, seed: 0 });
  const n = Math.max(...attacks.map((a) => (quick ? a.quickBatch : a.batch)));
  const x = tf.tensor4d(uniform(n * spec.shape.reduce((a, b) => a * b), 1234), [n, ...spec.shape]);
  const logits = classifier.logits(x);
  let labels;
  if (fs.existsSync(path.join(dataDir, `${name}.json`))) {
    labels = checkAgainstExported(name, x, logits);
  } else {
    const predicted = tf.argMax(logits, 1);
    labels = Int32Array.from(predicted.dataSync());
    predicted.dispose();
    exportForTorch(name, classifier, x, logits, labels);
  }
  logits.dispose();

  // Warm-up: kernels, XNNPACK operators and buffers for this model's shapes.
  const fgsm = await attackObject(settings.attacks.find((a) => a.id === 'fgsm'));
  for (let i = 0; i < 2; i++) (await runAttack(classifier, fgsm, { x, labels, eps: spec.eps })).dispose();

  for (const a of attacks) {
    const batch = quick ? a.quickBatch : a.batch;
    const reps = quick ? a.quickReps : a.reps;
    const attack = await attackObject(a);
    const xb = tf.slice(x, 0, batch);
    const yb = labels.subarray(0, batch);
    const times = [];
    let last;
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      const run = await runAttack(classifier, attack, {
        x: xb,
        labels: yb,
        eps: a.minimal === true ? undefined : (a.eps?.[name] ?? spec.eps),
        norm: a.norm,
        params: a.params,
        batchSize: batch,
        seed: r,
        keepAdversarial: false,
      });
      times.push((performance.now() - t0) / 1000);
      last = run;
      run.dispose();
    }
    xb.dispose();
    const result = last.results[0];
    const s = median(times);
    emit({
      model: name,
      attack: a.id,
      batch,
      images_per_s: Math.round((batch / s) * 100) / 100,
      median_s: Math.round(s * 1000) / 1000,
      times_s: times.map((t) => Math.round(t * 1000) / 1000),
      gradients_per_image: result.cost.gradients / batch,
      queries_per_image: result.cost.queries / batch,
      success_rate: result.successRate,
      mean_l2: mean(result.distances.l2),
      median_l2: median(result.distances.l2),
      mean_linf: mean(result.distances.linf),
    });
  }
  tf.dispose([x]);
  classifier.dispose();
}
if (tf.memory().numTensors > 0) emit({ info: 'tensors-left', count: tf.memory().numTensors });

/**
 * The labels written by an earlier engine's worker (so both engines attack the same points), after checking
 * that the inputs are the same and reporting how far this engine's clean logits are from that one's.
 */
function checkAgainstExported(name, x, logits) {
  const manifest = JSON.parse(fs.readFileSync(path.join(dataDir, `${name}.json`), 'utf8'));
  const read = (file) => {
    const bytes = fs.readFileSync(path.join(dataDir, file));
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  };
  const theirs = read(`${name}.x.bin`);
  const ours = x.dataSync();
  if (theirs.length !== ours.length || theirs.some((v, i) => v !== ours[i]))
    throw new Error(`${name}: the inputs differ from the ones written by ${manifest.engine}.`);
  const exported = read(`${name}.logits.bin`);
  const values = logits.dataSync();
  const diff = values.reduce((m, v, i) => Math.max(m, Math.abs(v - exported[i])), 0);
  emit({ info: 'engine-logits-check', model: name, exported_by: manifest.engine, max_abs_diff: diff });
  return Int32Array.from(manifest.labels);
}

/**
 * Weights in the network's order (float32, concatenated), the inputs and the clean logits, so that PyTorch
 * attacks the same function on the same points (torch_attacks.py re-lays them out for NCHW).
 */
function exportForTorch(name, classifier, x, logits, labels) {
  fs.mkdirSync(dataDir, { recursive: true });
  const weights = classifier.net.getWeights();
  const manifest = {
    engine,
    weights: weights.map((w, i) => ({ name: classifier.net.weights[i].name, shape: w.shape })),
    x: x.shape,
    labels: Array.from(labels),
    logits: logits.shape,
  };
  const blob = (tensors) =>
    Buffer.concat(tensors.map((t) => Buffer.from(new Float32Array(t.dataSync()).buffer)));
  fs.writeFileSync(path.join(dataDir, `${name}.weights.bin`), blob(weights));
  fs.writeFileSync(path.join(dataDir, `${name}.x.bin`), blob([x]));
  fs.writeFileSync(path.join(dataDir, `${name}.logits.bin`), blob([logits]));
  fs.writeFileSync(path.join(dataDir, `${name}.json`), JSON.stringify(manifest));
}
