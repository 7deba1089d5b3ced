// advkit's side of the training benchmark: one process, one engine (native or wasm, ../engines.mjs).
//
//   node bench/training/worker.mjs --data DIR [--backend native|wasm] [--threads 2] [--quick]
//                                  [--models mnist_cnn,cifar_cnn]
//
// For every model of settings.json (by default those not opt-in): loads its real training split (ADVKIT_DATA),
// keeps the first (warmup + timed) x batch images, builds the network with seeded weights, writes weights,
// images, labels and the first batch's clean logits to DIR for torch_training.py (or, when an earlier engine's
// worker has written them, reports how far its own logits are from those), then, for each of the model's
// methods, runs the library's `train` (the code `advkit train` runs) for one epoch over those images from the
// same initial weights and times each optimizer step from the progress reports. One JSON line per measurement.
import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClassifier, take, train } from '../../dist/index.js';
import { loadDataset } from '../../dist/node.js';
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
  console.error('worker.mjs needs --data DIR (where the weights and images for PyTorch go).');
  process.exit(2);
}
const threads = Number(option('threads', '2'));
const settings = JSON.parse(fs.readFileSync(path.join(here, 'settings.json'), 'utf8'));
const defaultModels = Object.keys(settings.models).filter((m) => settings.models[m].optIn !== true);
const models = option('models', defaultModels.join(',')).split(',');

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

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  const h = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[h] : (v[h - 1] + v[h]) / 2;
}
const round = (v, digits) => Math.round(v * 10 ** digits) / 10 ** digits;

/** The adversarial options of a method of settings.json for a model (null: standard training). */
function adversarialOptions(method, spec) {
  const a = method.adversarial;
  if (a === null) return undefined;
  if (a.method === 'fgsm-rs') {
    return {
      method: 'fgsm-rs',
      eps: spec.eps,
      stepSize: a.stepSizeOfEps * spec.eps,
      randomStart: a.randomStart,
      guard: a.guard,
    };
  }
  return {
    method: 'pgd',
    eps: spec.eps,
    steps: a.steps,
    stepSize: spec.pgd7StepSize,
    randomStart: a.randomStart,
  };
}

for (const name of models) {
  const spec = settings.models[name];
  if (spec === undefined) throw new Error(`settings.json has no model '${name}'.`);
  const stepCounts = { ...settings.steps, ...spec.steps };
  const warmup = quick ? stepCounts.quickWarmup : stepCounts.warmup;
  const timed = quick ? stepCounts.quickTimed : stepCounts.timed;
  const batch = quick ? (spec.quickBatch ?? spec.batch) : spec.batch;
  const methods = settings.methods.filter((m) => spec.methods?.includes(m.id) ?? true);
  const full = await loadDataset(spec.dataset, { split: 'train', download: false });
  const images = take(
    full,
    Int32Array.from({ length: (warmup + timed) * batch }, (_, i) => i),
  );
  const build = () =>
    createClassifier(spec.architecture, { inputShape: spec.shape, numClasses: 10, seed: 0, ...spec.options });
  exportForTorch(name, build(), images, batch);

  for (const method of methods) {
    const classifier = build();
    const times = [];
    const losses = [];
    let meanLoss = 0;
    let last = performance.now();
    await train(
      classifier,
      images,
      {
        ...settings.optimizer,
        epochs: 1,
        batchSize: batch,
        shuffle: false,
        seed: 0,
        adversarial: adversarialOptions(method, spec),
      },
      {
        onProgress: (p) => {
          if (p.phase !== 'step') return;
          const now = performance.now();
          times.push((now - last) / 1000);
          last = now;
          // p.loss is the mean over the epoch's steps so far (equal batches): recover this step's loss.
          losses.push(p.batch * p.loss - (p.batch - 1) * meanLoss);
          meanLoss = p.loss;
        },
      },
    );
    classifier.dispose();
    const stepTimes = times.slice(warmup);
    const s = median(stepTimes);
    const stepsPerEpoch = Math.ceil(spec.trainImages / batch);
    emit({
      model: name,
      method: method.id,
      batch,
      images_per_s: round(batch / s, 2),
      median_s: round(s, 4),
      times_s: stepTimes.map((t) => round(t, 4)),
      warmup_s: times.slice(0, warmup).map((t) => round(t, 4)),
      steps_per_epoch: stepsPerEpoch,
      epoch_s_extrapolated: round(stepsPerEpoch * s, 1),
      step_losses: losses.map((l) => round(l, 5)),
    });
  }
}
if (tf.memory().numTensors > 0) emit({ info: 'tensors-left', count: tf.memory().numTensors });

/**
 * The initial weights in the network's order (float32, concatenated, with their names), the images (uint8
 * NHWC) and labels, and the first batch's logits in inference mode, so that PyTorch trains the same function
 * on the same images (torch_training.py re-lays the weights out for NCHW and checks its logits). When an
 * earlier engine's worker has written them already: how far this engine's logits are from those.
 */
function exportForTorch(name, classifier, images, batch) {
  fs.mkdirSync(dataDir, { recursive: true });
  const manifestFile = path.join(dataDir, `${name}.json`);
  const weights = classifier.net.getWeights();
  const first = tf.tidy(() => {
    const x = tf.div(
      tf.tensor4d(
        images.pixels.subarray(0, batch * images.height * images.width * images.channels),
        [batch, images.height, images.width, images.channels],
        'float32',
      ),
      255,
    );
    return classifier.logits(x);
  });
  if (fs.existsSync(manifestFile)) {
    const exportedBy = JSON.parse(fs.readFileSync(manifestFile, 'utf8')).engine;
    const bytes = fs.readFileSync(path.join(dataDir, `${name}.logits.bin`));
    const theirs = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    );
    const ours = first.dataSync();
    const diff = ours.reduce((m, v, i) => Math.max(m, Math.abs(v - theirs[i])), 0);
    emit({ info: 'engine-logits-check', model: name, exported_by: exportedBy, max_abs_diff: diff });
    first.dispose();
    classifier.dispose();
    return;
  }
  const manifest = {
    engine,
    weights: weights.map((w, i) => ({ name: classifier.net.weights[i].name, shape: w.shape })),
    images: [images.count, images.height, images.width, images.channels],
    labels: Array.from(images.labels),
    logits: first.shape,
  };
  const blob = (tensors) =>
    Buffer.concat(tensors.map((t) => Buffer.from(new Float32Array(t.dataSync()).buffer)));
  fs.writeFileSync(path.join(dataDir, `${name}.weights.bin`), blob(weights));
  fs.writeFileSync(path.join(dataDir, `${name}.logits.bin`), blob([first]));
  fs.writeFileSync(path.join(dataDir, `${name}.images.bin`), images.pixels);
  fs.writeFileSync(path.join(dataDir, `${name}.json`), JSON.stringify(manifest));
  first.dispose();
  classifier.dispose();
}
