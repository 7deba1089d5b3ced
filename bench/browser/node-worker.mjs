// The Node side of bench/browser: one process, one engine (native by default: ../engines.mjs).
//
//   node bench/browser/node-worker.mjs --data DIR [--engine native|wasm] [--threads 2] [--quick] [--write-inputs]
//
// Loads each model of settings.json with loadClassifier (the bundled MNIST and CIFAR CNNs; the shared Darknet
// model from ADVKIT_MODELS), takes its inputs (the first test images; ImageNet photos read and resized by
// advkit's image loader), with --write-inputs writes them to DIR for the browser side (x as float32, labels as
// int32, a JSON manifest), then times every task of settings.json with measure.mjs. One JSON line per record.
import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as advkit from '../../dist/node.js';
import { engineInfo, startEngine } from '../engines.mjs';
import { timeTask } from './measure.mjs';

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
  console.error('node-worker.mjs needs --data DIR (where the inputs for the browser go).');
  process.exit(2);
}
const datasets = process.env.ADVKIT_DATA ?? path.resolve(repo, '../shared/datasets');
const sharedModels = process.env.ADVKIT_MODELS ?? path.resolve(repo, '../shared/models');
const threads = Number(option('threads', '2'));
const settings = JSON.parse(fs.readFileSync(path.join(here, 'settings.json'), 'utf8'));

const engine = await startEngine(option('engine', 'native'), threads);
const emit = (rec) => console.log(JSON.stringify({ side: 'node', engine, ...rec }));
emit({
  info: 'env',
  node: process.version,
  tfjs: tf.version_core,
  cpus: os.cpus().length,
  ...(await engineInfo()),
});

/** The largest n any task asks of a model. */
const inputCount = (name) =>
  Math.max(...settings.tasks.filter((t) => t.models.includes(name)).map((t) => (quick ? t.quickN : t.n)));

async function inputsOf(spec, classifier, n) {
  if (spec.dataset !== undefined) {
    const test = await advkit.loadDataset(spec.dataset, { split: 'test', dir: datasets, download: false });
    const picked = advkit.take(
      test,
      Int32Array.from({ length: n }, (_, i) => i),
    );
    const { x, y } = advkit.toTensors(picked);
    const out = { shape: x.shape, x: x.dataSync().slice(), labels: Int32Array.from(y.dataSync()) };
    tf.dispose([x, y]);
    return out;
  }
  const [h, w, c] = classifier.inputShape;
  const x = new Float32Array(n * h * w * c);
  for (let i = 0; i < n; i++) {
    const file = path.join(datasets, 'imagenet-samples', spec.images[i % spec.images.length]);
    const image = await advkit.readImageFile(file, { size: [h, w], channels: 3 });
    for (let j = 0; j < image.pixels.length; j++) x[i * h * w * c + j] = image.pixels[j] / 255;
  }
  return { shape: [n, h, w, c], x, labels: new Int32Array(n) };
}

for (const [name, spec] of Object.entries(settings.models)) {
  const tasks = settings.tasks.filter((t) => t.models.includes(name));
  if (tasks.length === 0) continue;
  const dir = spec.shared === true ? path.join(sharedModels, spec.model) : path.join(repo, spec.model);
  const classifier = await advkit.loadClassifier(dir);
  const inputs = await inputsOf(spec, classifier, inputCount(name));
  if (argv.includes('--write-inputs')) {
    fs.writeFileSync(
      path.join(dataDir, `${name}.x.bin`),
      Buffer.from(inputs.x.buffer, inputs.x.byteOffset, inputs.x.byteLength),
    );
    fs.writeFileSync(path.join(dataDir, `${name}.labels.bin`), Buffer.from(inputs.labels.buffer));
    fs.writeFileSync(path.join(dataDir, `${name}.json`), JSON.stringify({ shape: inputs.shape }));
  }
  for (const task of tasks) {
    const record = await timeTask({
      tf,
      advkit,
      classifier,
      task,
      model: spec,
      inputs,
      n: quick ? task.quickN : task.n,
      reps: quick ? task.quickReps : task.reps,
    });
    emit({ model: name, ...record });
  }
  classifier.dispose();
}
