// advkit's side of the evaluation benchmark: one process, one engine (native or wasm, ../engines.mjs).
//
//   node bench/evaluation/worker.mjs [--backend native|wasm] [--threads 2] [--quick] [--n 1000] [--suite-n 100]
//
// Loads the robust MNIST model and the first MNIST test images (ADVKIT_DATA), warms up on a few images, then
// times `evaluateRobustness` (the AutoAttack protocol that `advkit evaluate` runs): APGD-CE alone on the first n
// images, then the standard suite on the first suiteN. One JSON line per record.
import * as tf from '@tensorflow/tfjs-core';
import os from 'node:os';
import path from 'node:path';
import { evaluateRobustness, toTensors } from '../../dist/index.js';
import { loadClassifier, loadDataset } from '../../dist/node.js';
import { engineInfo, startEngine } from '../engines.mjs';
import { backend, n, repo, settings, suiteN, threads } from './options.mjs';

const engine = await startEngine(backend, threads);
const emit = (rec) => console.log(JSON.stringify({ framework: 'advkit-tfjs', engine, ...rec }));
emit({
  record: 'env',
  node: process.version,
  tfjs: tf.version_core,
  threads,
  cpus: os.cpus().length,
  ...(await engineInfo()),
});

const model = await loadClassifier(path.join(repo, settings.model));
const test = await loadDataset(settings.dataset, { split: 'test', download: false });
const count = Math.max(n, suiteN, settings.warmupN);
const { x: all, y } = toTensors(
  test,
  Array.from({ length: count }, (_, i) => i),
);
const labels = Int32Array.from(y.dataSync());
y.dispose();

const logitsSum = tf.tidy(() => {
  let sum = 0;
  for (let i = 0; i < n; i += settings.batch) {
    const z = model.logits(tf.slice(all, [i, 0, 0, 0], [Math.min(settings.batch, n - i), -1, -1, -1]));
    sum += tf.sum(z).dataSync()[0];
  }
  return sum;
});
emit({ record: 'clean', n, logits_sum: logitsSum });

/** evaluateRobustness on the first `size` images; returns the evaluation and its wall time. */
async function evaluate(size, suite) {
  const x = tf.slice(all, [0, 0, 0, 0], [size, -1, -1, -1]);
  const started = performance.now();
  try {
    const result = await evaluateRobustness(model, {
      x,
      labels: labels.subarray(0, size),
      norm: settings.norm,
      eps: settings.eps,
      suite,
      seed: settings.seed,
      batchSize: settings.batch,
      galleryCount: 0,
    });
    return { result, seconds: (performance.now() - started) / 1000 };
  } finally {
    x.dispose();
  }
}

function record(name, size, { result, seconds }) {
  const e = result.perEps[0];
  emit({
    record: name,
    n: size,
    clean_accuracy: result.cleanAccuracy,
    robust_accuracy: e.robustAccuracy,
    seconds,
    points_per_s: size / seconds,
    gradients_per_point: e.steps.reduce((s, step) => s + step.gradients_per_point, 0),
    queries_per_point: e.steps.reduce((s, step) => s + step.queries_per_point, 0),
    steps: e.steps,
    robust: Array.from(e.robust).join(''),
  });
}

// Warm-up (not timed): compiles the wasm kernels and JIT-compiles the attack loop.
await evaluate(settings.warmupN, ['apgd-ce']);
if (n > 0) record('apgd-ce', n, await evaluate(n, ['apgd-ce']));
if (suiteN > 0) record('standard', suiteN, await evaluate(suiteN, 'standard'));
all.dispose();
emit({ record: 'tensors-left', count: tf.memory().numTensors });
