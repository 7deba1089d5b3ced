// advkit's side of the explanation benchmark: one process, one engine (native or wasm, ../engines.mjs).
//
//   node bench/explain/worker.mjs --data DIR [--backend native|wasm] [--threads 2] [--quick] [--models mnist_cnn]
//                                 [--only saliency,gradcam]
//
// For every model of settings.json: loads the bundled model (or the shared Darknet one) with loadClassifier,
// takes its inputs (the first n test images of MNIST / CIFAR-10; ImageNet photos read and resized by advkit's
// image loader for Darknet), writes the inputs and their logits to DIR for torch_explain.py (or, when an earlier
// engine's worker has written them, checks the inputs and reports how far its logits are from those), then times
// `explain` for every method of settings.json and writes the last run's maps to DIR, so that PyTorch's maps can be
// correlated with them. One JSON line per measurement. With --paced (run.mjs), each step (a model's set-up, a
// method's warm-up, each timed run) starts only when a line arrives on stdin, after a {"wait": step} line: run.mjs
// alternates the steps of advkit and PyTorch, so that both sides' runs of a method see the same load.
import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { camLayer, explain, take, toTensors } from '../../dist/index.js';
import { loadClassifier, loadDataset, readImageFile } from '../../dist/node.js';
import { engineInfo, startEngine } from '../engines.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const quick = argv.includes('--quick');
const dataDir = option('data', undefined);
if (dataDir === undefined) {
  console.error('worker.mjs needs --data DIR (where the inputs and maps for PyTorch go).');
  process.exit(2);
}
const datasets = process.env.ADVKIT_DATA ?? path.resolve(repo, '../shared/datasets');
const threads = Number(option('threads', '2'));
const settings = JSON.parse(fs.readFileSync(path.join(here, 'settings.json'), 'utf8'));
const models = option('models', Object.keys(settings.models).join(',')).split(',');
const only = option('only', undefined)?.split(',');
const methods = settings.methods.filter((m) => only === undefined || only.includes(m.id));

const stdin = argv.includes('--paced') ? readline.createInterface({ input: process.stdin }) : undefined;
const commands = stdin?.[Symbol.asyncIterator]();
/** With --paced: say which step comes next and wait for the go (a line on stdin); stdin closed ends the run. */
async function step(label) {
  if (commands === undefined) return;
  console.log(JSON.stringify({ wait: label }));
  if ((await commands.next()).done) process.exit(0);
}

const engine = await startEngine(option('backend', 'native'), threads);
const emit = (rec) => console.log(JSON.stringify({ framework: 'advkit-tfjs', engine, ...rec }));
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

/** The n inputs of a model, NHWC in [0, 1]: the first test images, or the listed photos resized to the input. */
async function inputsOf(spec, classifier, n) {
  if (spec.dataset !== undefined) {
    const test = await loadDataset(spec.dataset, { split: 'test', dir: datasets, download: false });
    const { x, y } = toTensors(
      take(
        test,
        Int32Array.from({ length: n }, (_, i) => i),
      ),
    );
    y.dispose();
    return x;
  }
  const [h, w, c] = classifier.inputShape;
  const pixels = new Uint8Array(n * h * w * c);
  for (let i = 0; i < n; i++) {
    const file = path.join(datasets, 'imagenet-samples', spec.images[i]);
    const image = await readImageFile(file, { size: [h, w], channels: 3 });
    pixels.set(image.pixels, i * h * w * c);
  }
  return tf.tidy(() => tf.div(tf.tensor4d(pixels, [n, h, w, c], 'float32'), 255));
}

function logitsOf(classifier, x, batchSize) {
  const parts = [];
  for (let start = 0; start < x.shape[0]; start += batchSize) {
    const size = Math.min(batchSize, x.shape[0] - start);
    parts.push(tf.tidy(() => classifier.logits(tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1]))));
  }
  const out = tf.concat(parts, 0);
  tf.dispose(parts);
  return out;
}

const readFloats = (file) => {
  const bytes = fs.readFileSync(path.join(dataDir, file));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};
const writeFloats = (file, tensor) =>
  fs.writeFileSync(path.join(dataDir, file), Buffer.from(new Float32Array(tensor.dataSync()).buffer));

/**
 * A run of the method whose passes have the timed run's shapes (the first batch, the same noise samples or
 * path points per pass), so that kernels, oneDNN primitives and buffers exist before the clock starts.
 */
async function warmUp(classifier, m, x, batchSize) {
  const first = Math.min(batchSize, x.shape[0]);
  const perPass = Math.max(1, Math.floor(batchSize / first));
  const params = { ...m.params };
  if (m.method === 'smoothgrad') params.samples = Math.min(params.samples, perPass);
  if (m.method === 'ig') params.steps = params.maxSteps = Math.min(params.steps, perPass);
  const xb = tf.slice(x, 0, first);
  const out = await explain(classifier, m.method, { x: xb, params, batchSize, seed: 0 });
  tf.dispose([xb, out.maps]);
}

for (const name of models) {
  const spec = settings.models[name];
  if (spec === undefined) throw new Error(`settings.json has no model '${name}'.`);
  const n = quick ? spec.quickN : spec.n;
  const batchSize = spec.batchSize;
  await step(`set-up ${name}`);
  const classifier = await loadClassifier(path.resolve(repo, spec.model));
  const x = await inputsOf(spec, classifier, n);
  const logits = logitsOf(classifier, x, batchSize);
  const layer = camLayer(classifier, undefined, 'gradcam');
  if (fs.existsSync(path.join(dataDir, `${name}.json`))) {
    const manifest = JSON.parse(fs.readFileSync(path.join(dataDir, `${name}.json`), 'utf8'));
    const theirs = readFloats(`${name}.x.bin`);
    const ours = x.dataSync();
    if (theirs.length !== ours.length || theirs.some((v, i) => v !== ours[i]))
      throw new Error(`${name}: the inputs differ from the ones written by ${manifest.engine}.`);
    const exported = readFloats(`${name}.logits.bin`);
    const diff = logits.dataSync().reduce((m, v, i) => Math.max(m, Math.abs(v - exported[i])), 0);
    emit({ info: 'engine-logits-check', model: name, exported_by: manifest.engine, max_abs_diff: diff });
  } else {
    fs.mkdirSync(dataDir, { recursive: true });
    writeFloats(`${name}.x.bin`, x);
    writeFloats(`${name}.logits.bin`, logits);
    fs.writeFileSync(
      path.join(dataDir, `${name}.json`),
      JSON.stringify({
        engine,
        model: path.resolve(repo, spec.model),
        x: x.shape,
        logits: logits.shape,
        bounds: classifier.bounds,
        preprocessing: classifier.preprocessing,
        camLayer: layer.name,
        camShape: layer.shape,
      }),
    );
  }
  logits.dispose();

  for (const m of methods) {
    await step(`warm-up ${name} ${m.id}`);
    await warmUp(classifier, m, x, batchSize);
    const reps = quick ? m.quickReps : (spec.reps?.[m.id] ?? m.reps);
    const times = [];
    let last;
    for (let r = 0; r < reps; r++) {
      await step(`${name} ${m.id} run ${r + 1}/${reps}`);
      last?.maps.dispose();
      const t0 = performance.now();
      last = await explain(classifier, m.method, { x, params: m.params, batchSize, seed: 0 });
      // The maps are ready when their values are: read them inside the timed region, as a caller would.
      await last.maps.data();
      times.push((performance.now() - t0) / 1000);
    }
    writeFloats(`${name}.${m.id}.${engine}.maps.bin`, last.maps);
    const s = median(times);
    const gaps = last.details.map((d) => d.gap).filter((g) => g !== undefined);
    emit({
      model: name,
      method: m.id,
      n,
      batch: batchSize,
      images_per_s: round(n / s, 2),
      median_s: round(s, 4),
      times_s: times.map((t) => round(t, 4)),
      gradients_per_image: last.cost.gradients / n,
      queries_per_image: last.cost.queries / n,
      maps_shape: last.maps.shape,
      layer: m.method === 'gradcam' ? layer.name : undefined,
      zero_maps: m.method === 'gradcam' ? last.details.filter((d) => d.zeroMap).length : undefined,
      ig_gap_median: gaps.length > 0 ? median(gaps) : undefined,
      predictions: Array.from(last.predictions),
    });
    last.maps.dispose();
  }
  x.dispose();
  classifier.dispose();
}
if (tf.memory().numTensors > 0) emit({ info: 'tensors-left', count: tf.memory().numTensors });
stdin?.close();
