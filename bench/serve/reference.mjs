// The advkit side of bench/serve's logit check, and the source of its request inputs:
//
//   node bench/serve/reference.mjs --model mnist-cnn [--n 4]
//
// Loads the bundled model with advkit (the engine `advkit serve` runs: native, one thread), takes the first n
// test images of the model's dataset (ADVKIT_DATA, else ../shared/datasets; seeded uniform noise in the bounds
// when the dataset is not there), and prints one JSON line: { model, engine, inputs [n, h, w, c], logits [n, k],
// probabilities [n, k] }. fastapi_server.py compares its PyTorch logits with these; run.mjs sends these inputs.
import * as tf from '@tensorflow/tfjs-core';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { take, toTensors } from '../../dist/index.js';
import { loadClassifier, loadDataset } from '../../dist/node.js';
import { startEngine } from '../engines.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const name = option('model', 'mnist-cnn');
const n = Number(option('n', '4'));
const datasets = process.env.ADVKIT_DATA ?? path.resolve(repo, '../shared/datasets');

const engine = await startEngine(option('engine', 'native'), Number(option('threads', '1')));
const classifier = await loadClassifier(path.join(repo, 'models', name));
const [h, w, c] = classifier.inputShape;

async function inputs() {
  const dataset = { 'mnist-cnn': 'mnist', 'cifar-cnn': 'cifar10' }[name];
  try {
    const test = await loadDataset(dataset, { split: 'test', dir: datasets, download: false });
    const { x, y } = toTensors(
      take(
        test,
        Int32Array.from({ length: n }, (_, i) => i),
      ),
    );
    y.dispose();
    return { x, source: `${dataset} test images 0-${n - 1}` };
  } catch (err) {
    // A fixed pseudo-random image (xorshift), pixel values k/255 as an image file would give.
    let s = 12345;
    const values = Float32Array.from({ length: n * h * w * c }, () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return ((s >>> 0) % 256) / 255;
    });
    return { x: tf.tensor4d(values, [n, h, w, c]), source: `noise (${err.message.split('\n')[0]})` };
  }
}

const { x, source } = await inputs();
const logits = classifier.logits(x);
const probabilities = tf.softmax(logits);
console.log(
  JSON.stringify({
    model: name,
    engine,
    source,
    inputs: await x.array(),
    logits: await logits.array(),
    probabilities: await probabilities.array(),
  }),
);
tf.dispose([x, logits, probabilities]);
