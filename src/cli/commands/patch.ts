import type { Command } from 'commander';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  evaluatePatch,
  PATCH_SHAPES,
  PATCH_TRAINING_DEFAULTS,
  trainPatch,
  type PatchEvaluation,
  type PatchShape,
} from '../../attacks/patch/index.js';
import { take, toTensors } from '../../data/dataset.js';
import { readImageFile, writePng } from '../../data/node/image-file.js';
import { loadDataset } from '../../data/node/load-dataset.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import { AdvkitError, invalidArgument } from '../../errors.js';
import type { Classifier } from '../../models/classifier.js';
import { loadClassifier } from '../../models/node/load-classifier.js';
import { bundledModelDir } from '../../models/node/package-root.js';
import { assertDataFitsClassifier } from '../../train/evaluate.js';
import type { CliIo } from '../main.js';
import { nonNegativeInt, numberInRange, oneOf, positiveInt } from '../parse-options.js';
import { createProgressLine } from '../progress.js';

interface PatchCliOptions {
  model?: string;
  labels?: string;
  images?: string;
  data?: string;
  dataDir?: string;
  n: number;
  target: string;
  size: number;
  shape: PatchShape;
  steps: number;
  batch: number;
  lr: number;
  scaleMin: number;
  scaleMax: number;
  maxRotation: number;
  trials: number;
  seed: number;
  out: string;
  backend?: string;
  json?: boolean;
}

/** Images to train on and held-out images to measure on, with the labels that decide what counts as success. */
interface PatchData {
  source: string;
  train: tf.Tensor4D;
  trainLabels: Int32Array;
  heldOut: tf.Tensor4D;
  heldOutLabels: Int32Array;
  /** How the labels were obtained (true labels, or the model's clean predictions for unlabelled photos). */
  labelSource: 'dataset' | 'clean predictions';
}

const IMAGE_FILE = /\.(png|jpe?g|webp|gif|tiff?|avif)$/i;

export function registerPatchCommand(program: Command, io: CliIo): void {
  const d = PATCH_TRAINING_DEFAULTS;
  program
    .command('patch')
    .description(
      'Train a universal targeted adversarial patch (Brown et al. 2017) on some images, measure its success on ' +
        'held-out images, and save it as a PNG. With --images, the photos of a folder alternate between training ' +
        'and held-out; with --data, n training-split images train it and n test-split images measure it.',
    )
    .option('--model <dir>', 'model directory (default: the bundled mnist-cnn)')
    .option('--labels <file>', 'class names for a model without advkit.json (txt, one per line, or JSON)')
    .option(
      '--images <dir>',
      'folder of photos (searched recursively); held-out success is judged against the clean predictions',
    )
    .option(
      '--data <name>',
      'dataset: mnist, fashion-mnist or cifar10 (default: the one the model was trained on)',
    )
    .option('--data-dir <dir>', 'where dataset files are (default: $ADVKIT_DATA, then the user cache)')
    .option('--n <count>', '--data: training images, and as many held-out images', positiveInt('--n'), 100)
    .requiredOption(
      '--target <class>',
      'class the patch should make the model predict: a class name or index',
    )
    .option(
      '--size <fraction>',
      "the patch's side as a fraction of the image side",
      numberInRange('--size', 0, 1, { exclusiveMin: true }),
      d.size,
    )
    .option(
      '--shape <shape>',
      `patch outline: ${PATCH_SHAPES.join(' or ')}`,
      oneOf('--shape', PATCH_SHAPES),
      d.shape,
    )
    .option('--steps <count>', 'optimisation steps', positiveInt('--steps'), d.steps)
    .option('--batch <count>', 'images per step', positiveInt('--batch'), d.batchSize)
    .option(
      '--lr <rate>',
      'Adam learning rate (pixel units)',
      numberInRange('--lr', 0, 10, { exclusiveMin: true }),
      d.learningRate,
    )
    .option(
      '--scale-min <factor>',
      'smallest random scale of the patch while training',
      numberInRange('--scale-min', 0, 10, { exclusiveMin: true }),
      d.scaleRange[0],
    )
    .option(
      '--scale-max <factor>',
      'largest random scale of the patch while training',
      numberInRange('--scale-max', 0, 10, { exclusiveMin: true }),
      d.scaleRange[1],
    )
    .option(
      '--max-rotation <degrees>',
      'largest random rotation, both ways',
      numberInRange('--max-rotation', 0, 180),
      d.maxRotation,
    )
    .option('--trials <count>', 'random placements per held-out image', positiveInt('--trials'), 4)
    .option('--seed <seed>', 'seed of the batches and placements', nonNegativeInt('--seed'), d.seed)
    .requiredOption('--out <file>', 'where to write the patch PNG (transparent outside a disc patch)')
    .option('--backend <name>', 'compute backend: wasm, cpu, tensorflow (default: best available)')
    .option('--json', 'print JSON')
    .action(async (opts: PatchCliOptions) => {
      if (opts.images !== undefined && opts.data !== undefined) {
        throw invalidArgument('Give either --images or --data, not both.');
      }
      if (opts.scaleMin > opts.scaleMax) {
        throw invalidArgument(
          `--scale-min (${opts.scaleMin}) must not exceed --scale-max (${opts.scaleMax}).`,
        );
      }
      const backend = await initNodeBackend({ backend: opts.backend });
      const modelDir = opts.model ?? bundledModelDir('mnist-cnn');
      const classifier = await loadClassifier(modelDir, opts.labels ? { labels: opts.labels } : undefined);
      const abort = new AbortController();
      const onSigint = (): void => abort.abort();
      process.once('SIGINT', onSigint);
      const progress = createProgressLine(
        'patch [{bar}] {value}/{total} | loss {loss} | batch success {success}',
        io.stderr,
      );
      let data: PatchData | undefined;
      try {
        const target = resolveClass(classifier, opts.target);
        data =
          opts.images !== undefined
            ? await photoData(classifier, opts.images)
            : await datasetData(classifier, opts);
        io.stderr(
          `training a ${opts.shape} patch for '${classifier.classNames[target]}' on ${data.train.shape[0]} images from ` +
            `${data.source} (backend ${backend})\n`,
        );
        progress.start(opts.steps, { loss: '-', success: '-' });
        const trained = await trainPatch(classifier, data.train, {
          target,
          size: opts.size,
          shape: opts.shape,
          steps: opts.steps,
          batchSize: opts.batch,
          learningRate: opts.lr,
          scaleRange: [opts.scaleMin, opts.scaleMax],
          maxRotation: opts.maxRotation,
          seed: opts.seed,
          signal: abort.signal,
          onProgress: (p) =>
            progress.update(p.step, {
              loss: p.loss.toFixed(3),
              success: `${(100 * p.successRate).toFixed(0)}%`,
            }),
        });
        progress.stop();
        const { patch, mask } = trained;
        const noise = tf.randomUniform<tf.Rank.R3>(patch.shape, ...classifier.bounds, 'float32', opts.seed);
        try {
          const measure = {
            target,
            shape: opts.shape,
            trials: opts.trials,
            seed: opts.seed,
            signal: abort.signal,
          };
          const onTrain = await evaluatePatch(classifier, patch, data.train, data.trainLabels, measure);
          const onHeldOut = await evaluatePatch(classifier, patch, data.heldOut, data.heldOutLabels, measure);
          const baseline = await evaluatePatch(classifier, noise, data.heldOut, data.heldOutLabels, measure);
          await writePatchPng(opts.out, patch, mask, classifier.bounds);
          const summary = {
            model: modelDir,
            backend,
            data: data.source,
            labels: data.labelSource,
            target: { index: target, name: classifier.classNames[target] },
            patch: {
              pixels: patch.shape[0],
              size: opts.size,
              shape: opts.shape,
              out: path.resolve(opts.out),
            },
            options: trained.options,
            seconds: trained.seconds,
            gradients: trained.cost.gradients,
            train: onTrain,
            heldOut: onHeldOut,
            randomPatch: baseline,
          };
          if (opts.json) io.stdout(JSON.stringify(summary, null, 2) + '\n');
          else io.stdout(formatSummary(summary));
        } finally {
          tf.dispose([patch, mask, noise]);
        }
      } catch (err) {
        if (err instanceof AdvkitError && err.code === 'ABORTED') {
          const interrupted = new Error('interrupted');
          interrupted.name = 'AbortError';
          throw interrupted;
        }
        throw err;
      } finally {
        progress.stop();
        process.removeListener('SIGINT', onSigint);
        if (data) tf.dispose([data.train, data.heldOut]);
        classifier.dispose();
      }
    });
}

/** A class name (exact) or index. */
export function resolveClass(classifier: Classifier, value: string): number {
  const byName = classifier.classNames.indexOf(value);
  if (byName >= 0) return byName;
  const index = Number(value);
  if (/^\d+$/.test(value.trim()) && index < classifier.numClasses) return index;
  const close = classifier.classNames
    .filter((name) => name.toLowerCase().includes(value.toLowerCase()))
    .slice(0, 5);
  throw invalidArgument(
    `--target '${value}' is neither a class name of this model nor an index below ${classifier.numClasses}` +
      (close.length > 0 ? `; did you mean ${close.map((c) => `'${c}'`).join(', ')}?` : '.'),
  );
}

/** The photos of a folder at the model's input size, alternating between training and held-out. */
async function photoData(classifier: Classifier, dir: string): Promise<PatchData> {
  let files: string[];
  try {
    if (!statSync(dir).isDirectory())
      throw invalidArgument(`--images must be a folder of photos, got the file ${dir}.`);
    files = readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => IMAGE_FILE.test(f))
      .sort()
      .map((f) => path.join(dir, f));
  } catch (err) {
    if (err instanceof AdvkitError) throw err;
    throw new AdvkitError(
      'NOT_FOUND',
      `Cannot read the folder ${dir}: ${err instanceof Error ? err.message : err}.`,
    );
  }
  if (files.length < 2) {
    throw invalidArgument(
      `--images needs at least 2 photos (half train the patch, half measure it); ${dir} has ${files.length}.`,
    );
  }
  const [h, w, c] = classifier.inputShape;
  const pixels = new Float32Array(files.length * h * w * c);
  const [lo, hi] = classifier.bounds;
  for (let i = 0; i < files.length; i++) {
    const image = await readImageFile(files[i], { size: [h, w], channels: c === 1 ? 1 : 3 });
    for (let p = 0; p < image.pixels.length; p++)
      pixels[i * h * w * c + p] = lo + (image.pixels[p] / 255) * (hi - lo);
  }
  const all = tf.tensor4d(pixels, [files.length, h, w, c]);
  try {
    const clean = tf.tidy(() => tf.argMax(classifier.logits(all), 1));
    const predictions = Int32Array.from(clean.dataSync());
    clean.dispose();
    const rows = (parity: number): Int32Array =>
      Int32Array.from(files.keys()).filter((i) => i % 2 === parity);
    const pick = (r: Int32Array): tf.Tensor4D => tf.tidy(() => tf.gather(all, tf.tensor1d(r, 'int32')));
    const [trainRows, heldOutRows] = [rows(0), rows(1)];
    return {
      source: dir,
      train: pick(trainRows),
      trainLabels: trainRows.map((i) => predictions[i]),
      heldOut: pick(heldOutRows),
      heldOutLabels: heldOutRows.map((i) => predictions[i]),
      labelSource: 'clean predictions',
    };
  } finally {
    all.dispose();
  }
}

/** The first n images of the training split train the patch; the first n of the test split measure it. */
async function datasetData(classifier: Classifier, opts: PatchCliOptions): Promise<PatchData> {
  const name = opts.data ?? classifier.metadata.dataset ?? 'mnist';
  const split = async (which: 'train' | 'test'): Promise<{ x: tf.Tensor4D; labels: Int32Array }> => {
    const ds = await loadDataset(name, { split: which, dir: opts.dataDir });
    assertDataFitsClassifier(classifier, ds);
    const { x, y } = toTensors(
      take(
        ds,
        Int32Array.from({ length: Math.min(opts.n, ds.count) }, (_, i) => i),
      ),
    );
    const labels = Int32Array.from(y.dataSync());
    y.dispose();
    return { x, labels };
  };
  const train = await split('train');
  const heldOut = await split('test').catch((err: unknown) => {
    train.x.dispose();
    throw err;
  });
  return {
    source: `${name} (train #0-${train.labels.length - 1}, held-out test #0-${heldOut.labels.length - 1})`,
    train: train.x,
    trainLabels: train.labels,
    heldOut: heldOut.x,
    heldOutLabels: heldOut.labels,
    labelSource: 'dataset',
  };
}

/** RGB(A) PNG of the patch in [0, 255]; a disc is transparent outside. */
async function writePatchPng(
  file: string,
  patch: tf.Tensor3D,
  mask: tf.Tensor2D,
  [lo, hi]: readonly [number, number],
): Promise<void> {
  const [side, , c] = patch.shape;
  const values = patch.dataSync();
  const alpha = mask.dataSync();
  const rgba = new Uint8Array(side * side * 4);
  for (let p = 0; p < side * side; p++) {
    for (let k = 0; k < 3; k++) {
      const v = values[p * c + (c === 1 ? 0 : k)];
      rgba[p * 4 + k] = Math.round(((v - lo) / (hi - lo)) * 255);
    }
    rgba[p * 4 + 3] = Math.round(alpha[p] * 255);
  }
  await writePng(file, rgba, side, side, 4);
}

function formatSummary(s: {
  target: { index: number; name: string };
  patch: { pixels: number; size: number; shape: string; out: string };
  labels: string;
  seconds: number;
  gradients: number;
  train: PatchEvaluation;
  heldOut: PatchEvaluation;
  randomPatch: PatchEvaluation;
}): string {
  const rate = (e: PatchEvaluation): string =>
    `${(100 * e.successRate).toFixed(1)}% (${e.successes}/${e.attempts} placements on ${e.evaluated} images)`;
  const lines = [
    `${s.patch.shape} patch ${s.patch.pixels}x${s.patch.pixels} px (side ${s.patch.size} of the image) for ` +
      `'${s.target.name}' (#${s.target.index}): ${s.seconds.toFixed(0)} s, ${s.gradients} image gradients`,
    `predicted '${s.target.name}' with the patch, training images: ${rate(s.train)}`,
    `held-out images: ${rate(s.heldOut)}`,
    `a random patch of the same size: ${rate(s.randomPatch)}`,
  ];
  if (s.heldOut.excluded > 0) {
    lines.push(
      `(${s.heldOut.excluded} held-out images left out: their ${s.labels === 'dataset' ? 'label' : 'clean prediction'} is already the target)`,
    );
  }
  lines.push(`wrote ${s.patch.out}`);
  return lines.join('\n') + '\n';
}
