// advkit's side of the defense benchmark: one process, one engine (native or wasm, ../engines.mjs), one part.
//
//   node bench/defend/worker.mjs --part transforms [--backend native|wasm] [--threads 2] [--quick] [--model DIR]
//   node bench/defend/worker.mjs --part certify --data DIR [--backend native|wasm] [--threads 2] [--quick]
//                                [--model DIR] [--paced]
//
// transforms: for every defense spec of settings.json, on the first test images, times per call (the fastest of
// the reps, and the median; values read back inside the timed region) the undefended model's forward pass and input gradient, the
// transform chain alone (`DefendedModel.transform`) forward and forward + backward (BPDA's identity for the
// transforms without a gradient of their own), and the defended model's forward pass and input gradient. Each rep
// times the undefended model beside the defense, so a ratio compares figures taken seconds apart.
//
// certify: `certify` (randomized smoothing's CERTIFY) on the first test images, after a warm-up run on one image;
// writes the inputs (the first engine; a later engine checks them) and its per-point results to DIR for
// torch_certify.py. With --paced (run.mjs), each step starts only when a line arrives on stdin, after a
// {"wait": step} line, so that advkit's and PyTorch's runs alternate and see the same load.
//
// One JSON line per measurement.
import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { certify, DefendedModel, take, toTensors } from '../../dist/index.js';
import { loadClassifier, loadDataset } from '../../dist/node.js';
import { engineInfo, startEngine } from '../engines.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const quick = argv.includes('--quick');
const part = option('part', undefined);
if (part !== 'transforms' && part !== 'certify') {
  console.error('worker.mjs needs --part transforms or --part certify.');
  process.exit(2);
}
const dataDir = option('data', undefined);
if (part === 'certify' && dataDir === undefined) {
  console.error('worker.mjs --part certify needs --data DIR (where the inputs and results for PyTorch go).');
  process.exit(2);
}
const datasets = process.env.ADVKIT_DATA ?? path.resolve(repo, '../shared/datasets');
const threads = Number(option('threads', '2'));
const settings = JSON.parse(fs.readFileSync(path.join(here, 'settings.json'), 'utf8'));
const modelDir = path.resolve(repo, option('model', settings.model));

const stdin = argv.includes('--paced') ? readline.createInterface({ input: process.stdin }) : undefined;
const commands = stdin?.[Symbol.asyncIterator]();
/** With --paced: say which step comes next and wait for the go (a line on stdin); stdin closed ends the run. */
async function step(label) {
  if (commands === undefined) return;
  console.log(JSON.stringify({ wait: label }));
  if ((await commands.next()).done) process.exit(0);
}

const engine = await startEngine(option('backend', 'native'), threads);
const emit = (rec) => console.log(JSON.stringify({ framework: 'advkit-tfjs', engine, part, ...rec }));
emit({
  info: 'env',
  node: process.version,
  tfjs: tf.version_core,
  threads,
  cpus: os.cpus().length,
  ...(await engineInfo()),
});

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  const h = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[h] : (v[h - 1] + v[h]) / 2;
}
const round = (v, digits) => Math.round(v * 10 ** digits) / 10 ** digits;

/** The first n test images, NHWC in [0, 1], and their labels. */
async function testImages(n) {
  const test = await loadDataset(settings.dataset, { split: 'test', dir: datasets, download: false });
  return toTensors(
    take(
      test,
      Int32Array.from({ length: n }, (_, i) => i),
    ),
  );
}

/** Seconds for `run()` to produce a tensor and its values to be read back; the tensor is disposed. */
async function timed(run) {
  const t0 = performance.now();
  const out = run();
  await out.data();
  const seconds = (performance.now() - t0) / 1000;
  out.dispose();
  return seconds;
}

/** The gradient of sum(f(x) * weights) with respect to x: one backward pass through f, weights as its cotangent. */
const gradientOf = (f, weights) => (x) => tf.grad((v) => tf.sum(tf.mul(f(v), weights)))(x);

async function transformsPart(classifier) {
  const t = settings.transforms;
  const largest = Math.max(
    ...t.defenses.map((d) => Math.min(d.batch ?? Infinity, quick ? t.quickBatch : t.batch)),
  );
  const { x: all, y: labels } = await testImages(largest);
  const oneHot = tf.oneHot(labels, classifier.numClasses);
  labels.dispose();
  for (const d of t.defenses) {
    const batch = Math.min(d.batch ?? Infinity, quick ? t.quickBatch : t.batch);
    const reps = quick ? t.quickReps : (d.reps ?? t.reps);
    const x = tf.slice(all, 0, batch);
    const target = tf.slice(oneHot, 0, batch);
    const cotangent = tf.tidy(() => tf.randomNormal(x.shape, 0, 1, 'float32', 1));
    const defended = new DefendedModel(classifier, d.spec, { seed: 0, disposeModel: false });
    // The logit of the true class, as an attack's loss would pick it.
    const modelGradient = gradientOf((v) => classifier.logits(v), target);
    const defendedGradient = gradientOf((v) => defended.logits(v), target);
    const transformBackward = gradientOf((v) => defended.transform(v), cotangent);
    const measures = {
      model_forward: () => classifier.logits(x),
      transform_forward: () => defended.transform(x),
      defended_forward: () => defended.logits(x),
      model_gradient: () => modelGradient(x),
      transform_forward_backward: () => transformBackward(x),
      defended_gradient: () => defendedGradient(x),
    };
    const times = Object.fromEntries(Object.keys(measures).map((k) => [k, []]));
    for (const run of Object.values(measures)) await timed(run); // warm-up: kernels, primitives, buffers
    for (let r = 0; r < reps; r++) {
      for (const [k, run] of Object.entries(measures)) times[k].push(await timed(run));
    }
    emit({
      defense: d.spec,
      differentiable: defended.differentiable,
      random: defended.random,
      batch,
      reps,
      // Milliseconds per image: the fastest call divided by the batch. On this shared machine a call takes one to
      // three times its cost, as the scheduler gives the process its cores or not; the fastest is the cost.
      ms_per_image: Object.fromEntries(
        Object.entries(times).map(([k, v]) => [k, round((1000 * Math.min(...v)) / batch, 4)]),
      ),
      ms_per_image_median: Object.fromEntries(
        Object.entries(times).map(([k, v]) => [k, round((1000 * median(v)) / batch, 4)]),
      ),
      times_s: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.map((s) => round(s, 4))])),
    });
    tf.dispose([x, target, cotangent]);
  }
  tf.dispose([all, oneHot]);
}

const readFloats = (file) => {
  const bytes = fs.readFileSync(path.join(dataDir, file));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

async function certifyPart(classifier) {
  const c = settings.certify;
  const images = quick ? c.quickImages : c.images;
  const n = quick ? c.quickN : c.n;
  const params = { sigma: c.sigma, n0: c.n0, n, alpha: c.alpha, batchSize: c.batchSize, seed: c.seed };
  await step('set-up');
  const { x, y } = await testImages(images);
  const manifest = path.join(dataDir, 'certify.json');
  if (fs.existsSync(manifest)) {
    const theirs = readFloats('certify.x.bin');
    const ours = x.dataSync();
    if (theirs.length !== ours.length || theirs.some((v, i) => v !== ours[i]))
      throw new Error(
        `the inputs differ from the ones written by ${JSON.parse(fs.readFileSync(manifest)).engine}.`,
      );
  } else {
    fs.writeFileSync(path.join(dataDir, 'certify.x.bin'), Buffer.from(new Float32Array(x.dataSync()).buffer));
    fs.writeFileSync(
      manifest,
      JSON.stringify({
        engine,
        model: modelDir,
        x: x.shape,
        labels: Array.from(y.dataSync()),
        bounds: classifier.bounds,
        preprocessing: classifier.preprocessing,
        numClasses: classifier.numClasses,
        params,
      }),
    );
  }
  await step('warm-up');
  const first = tf.slice(x, 0, 1);
  await certify(classifier, first, { ...params, n: Math.min(n, 2 * c.batchSize) });
  first.dispose();
  const times = [];
  let results;
  for (let r = 0; r < c.reps; r++) {
    await step(`certify run ${r + 1}/${c.reps}`);
    const t0 = performance.now();
    results = await certify(classifier, x, params);
    times.push((performance.now() - t0) / 1000);
  }
  const s = median(times);
  const points = results.map((p, i) => ({
    label: y.dataSync()[i],
    prediction: p.prediction,
    radius: p.radius,
    pALower: p.pALower,
    counts: p.counts,
  }));
  fs.writeFileSync(path.join(dataDir, `certify.${engine}.json`), JSON.stringify(points));
  emit({
    images,
    ...params,
    samples_per_s: round((images * (c.n0 + n)) / s, 1),
    s_per_image: round(s / images, 3),
    median_s: round(s, 3),
    times_s: times.map((t) => round(t, 3)),
    points,
  });
  tf.dispose([x, y]);
}

const classifier = await loadClassifier(modelDir);
if (part === 'transforms') await transformsPart(classifier);
else await certifyPart(classifier);
classifier.dispose();
if (tf.memory().numTensors > 0) emit({ info: 'tensors-left', count: tf.memory().numTensors });
stdin?.close();
