// Adversarial patch (Brown et al. 2017) on the pretrained Darknet-tiny ImageNet classifier: train one patch
// that turns photos into a chosen class on half of the sample photos, then measure how often it works on the
// other half (held out), at random places and rotations.
//
//   npm run build && node examples/patch-imagenet.mjs [--target soccer_ball] [--size 0.25] [--steps 120]
//     [--batch 8] [--lr 0.05] [--trials 10] [--seed 0] [--out .advkit-tmp/patch-imagenet]
//
// Defaults read ../shared/models/darknet-tiny-imagenet and ../shared/datasets/imagenet-samples beside the
// repository ($ADVKIT_DATA overrides the datasets folder). Writes patch.png (the disc, transparent outside) and
// one patched held-out photo per image into --out (.advkit-tmp/ is git-ignored). On 2 CPU cores one gradient
// of this 224x224 model costs about 0.1-0.3 s per image, so the defaults take several minutes.
import console from 'node:console';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import {
  applyPatch,
  evaluatePatch,
  initNodeBackend,
  loadClassifier,
  readImageFile,
  trainPatch,
  writePng,
} from '../dist/node.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = process.env.ADVKIT_DATA ?? path.resolve(repo, '../shared/datasets');
const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: path.resolve(dataDir, '../models/darknet-tiny-imagenet') },
    images: { type: 'string', default: path.join(dataDir, 'imagenet-samples') },
    target: { type: 'string', default: 'soccer_ball' },
    size: { type: 'string', default: '0.25' },
    steps: { type: 'string', default: '120' },
    batch: { type: 'string', default: '8' },
    lr: { type: 'string' },
    trials: { type: 'string', default: '10' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string', default: path.join(repo, '.advkit-tmp/patch-imagenet') },
  },
});

/** Every image file under dir, sorted, so the train/held-out split is the same on every machine. */
function imageFiles(dir) {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

async function loadBatch(files, [h, w, c]) {
  const pixels = new Float32Array(files.length * h * w * c);
  for (let i = 0; i < files.length; i++) {
    const image = await readImageFile(files[i], { size: [h, w], channels: c });
    for (let p = 0; p < image.pixels.length; p++) pixels[i * h * w * c + p] = image.pixels[p] / 255;
  }
  return tf.tensor4d(pixels, [files.length, h, w, c]);
}

function top1(classifier, x) {
  return tf.tidy(() => Array.from(tf.argMax(classifier.logits(x), 1).dataSync()));
}

function toBytes(t) {
  return Uint8Array.from(t.dataSync(), (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
}

await initNodeBackend({ backend: 'wasm' });
process.env.ADVKIT_DATA = dataDir; // names the Darknet WordNet ids through imagenet_class_index.json
const classifier = await loadClassifier(args.model);
const target = classifier.classNames.indexOf(args.target);
if (target < 0) throw new Error(`No class named ${args.target} in ${args.model}.`);
const files = imageFiles(args.images);
const x = await loadBatch(files, classifier.inputShape);
const clean = top1(classifier, x);
// Alternate files between training and held-out sets; clean predictions stand in for labels (the photos'
// folders use different label indices), so held-out photos already predicted as the target are left out.
const trainRows = files.map((_, i) => i).filter((i) => i % 2 === 0);
const testRows = files.map((_, i) => i).filter((i) => i % 2 === 1);
const pick = (rows) => tf.tidy(() => tf.gather(x, tf.tensor1d(rows, 'int32')));
const xTrain = pick(trainRows);
const xTest = pick(testRows);
console.log(
  `${files.length} photos: ${trainRows.length} to train on, ${testRows.length} held out; target ${args.target} (#${target})`,
);

const started = Date.now();
const trained = await trainPatch(classifier, xTrain, {
  target,
  size: Number(args.size),
  steps: Number(args.steps),
  batchSize: Number(args.batch),
  ...(args.lr === undefined ? {} : { learningRate: Number(args.lr) }),
  seed: Number(args.seed),
  onProgress: (p) => {
    if (p.step % 10 === 0 || p.step === p.steps) {
      const s = ((Date.now() - started) / 1000).toFixed(0);
      console.log(
        `step ${p.step}/${p.steps}  loss ${p.loss.toFixed(2)}  batch success ${(p.successRate * 100).toFixed(0)}%  ${s} s`,
      );
    }
  },
});
const { patch, mask } = trained;
const options = { target, trials: Number(args.trials), seed: 1 };
const onTrain = await evaluatePatch(
  classifier,
  patch,
  xTrain,
  trainRows.map((i) => clean[i]),
  options,
);
const onTest = await evaluatePatch(
  classifier,
  patch,
  xTest,
  testRows.map((i) => clean[i]),
  options,
);
const random = tf.randomUniform(patch.shape, 0, 1, 'float32', 7);
const baseline = await evaluatePatch(
  classifier,
  random,
  xTest,
  testRows.map((i) => clean[i]),
  options,
);
const pct = (e) => `${(e.successRate * 100).toFixed(1)}% (${e.successes}/${e.attempts})`;
console.log(
  `patch ${patch.shape[0]}x${patch.shape[1]} px (side ${args.size} of the image), ${trained.seconds.toFixed(0)} s, ${trained.cost.gradients} image gradients`,
);
console.log(`success on the training photos: ${pct(onTrain)}`);
console.log(
  `success on held-out photos:     ${pct(onTest)}  (a random patch of the same size: ${pct(baseline)})`,
);

// One placement per held-out photo, printed and saved.
const shown = applyPatch(xTest, patch, { rotation: [-22.5, 22.5], seed: 2 });
const after = top1(classifier, shown);
const [h, w, c] = classifier.inputShape;
const bytes = toBytes(shown);
for (let k = 0; k < testRows.length; k++) {
  const name = path.basename(files[testRows[k]]).replace(/\.[^.]+$/, '');
  console.log(`${name}: ${classifier.classNames[clean[testRows[k]]]} -> ${classifier.classNames[after[k]]}`);
  await writePng(
    path.join(args.out, `patched-${name}.png`),
    bytes.subarray(k * h * w * c, (k + 1) * h * w * c),
    h,
    w,
    c,
  );
}
const side = patch.shape[0];
const rgba = new Uint8Array(side * side * 4);
const rgb = toBytes(patch);
const alpha = mask.dataSync();
for (let p = 0; p < side * side; p++) {
  rgba.set(rgb.subarray(p * 3, p * 3 + 3), p * 4);
  rgba[p * 4 + 3] = alpha[p] * 255;
}
await writePng(path.join(args.out, 'patch.png'), rgba, side, side, 4);
console.log(`wrote ${path.join(args.out, 'patch.png')} and ${testRows.length} patched photos`);
tf.dispose([x, xTrain, xTest, patch, mask, random, shown]);
classifier.dispose();
