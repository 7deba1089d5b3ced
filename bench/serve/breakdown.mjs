// Where one predict request's compute goes in advkit, in process, without HTTP (run.mjs runs it after the
// throughput table; by hand):
//
//   node bench/serve/breakdown.mjs [--models mnist-cnn,cifar-cnn] [--batch 1] [--reps 30]
//
// On the engine `advkit serve`'s compute thread runs (native, one thread), per model, the median over --reps calls
// (after 5 warm-up calls each; the parts called in turn, so that a burst of load on this shared machine hits all) of: the whole predict task on raw inputs (`predictTask.run`, what a compute thread runs
// per request), and its parts: the spec check (`parseSpec` on the same spec), opening the model
// (`loadClassifier` + dispose), and the forward pass with softmax and top-3 on an already loaded model. Prints
// one JSON line per model.
import * as tf from '@tensorflow/tfjs-core';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadClassifier } from '../../dist/node.js';
import { predictSchema } from '../../dist/tasks/predict-spec.js';
import { predictTask } from '../../dist/tasks/predict.js';
import { parseSpec } from '../../dist/tasks/spec.js';
import { startEngine } from '../engines.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const models = option('models', 'mnist-cnn,cifar-cnn').split(',');
const batch = Number(option('batch', '1'));
const reps = Number(option('reps', '30'));
const engine = await startEngine('native', 1);

/** Each part's median over `reps` calls, the parts called in turn (so a burst of load hits them all). */
async function medianMs(parts) {
  const times = Object.fromEntries(Object.keys(parts).map((k) => [k, []]));
  for (const fn of Object.values(parts)) for (let i = 0; i < 5; i++) await fn();
  for (let i = 0; i < reps; i++) {
    for (const [key, fn] of Object.entries(parts)) {
      const t0 = performance.now();
      await fn();
      times[key].push(performance.now() - t0);
    }
  }
  const median = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

for (const name of models) {
  const dir = path.join(repo, 'models', name);
  const classifier = await loadClassifier(dir);
  const [h, w, c] = classifier.inputShape;
  // Mid-grey images: the cost does not depend on the values.
  const inputs = Array.from({ length: batch }, () =>
    Array.from({ length: h }, () => Array.from({ length: w }, () => Array(c).fill(0.5))),
  );
  const spec = { model: dir, inputs, top: 3 };
  const x = tf.tensor4d(inputs);
  const rec = {
    model: name,
    engine,
    batch,
    reps,
    ...(await medianMs({
      task_ms: () => predictTask.run(spec),
      parse_spec_ms: () => parseSpec(predictSchema, spec, 'predict'),
      load_model_ms: async () => (await loadClassifier(dir)).dispose(),
      forward_top3_ms: async () => {
        const out = tf.tidy(() => tf.topk(tf.softmax(classifier.logits(x)), 3));
        await out.values.data();
        tf.dispose(out);
      },
    })),
  };
  x.dispose();
  classifier.dispose();
  console.log(JSON.stringify(rec));
}
