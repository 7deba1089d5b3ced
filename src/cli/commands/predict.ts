import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../backend/node-backend.js';
import { bundledModelDir, loadClassifier, readImageFile } from '../../node.js';
import { toTensors } from '../../data/index.js';
import type { Classifier } from '../../models/index.js';
import { invalidArgument } from '../../errors.js';
import { positiveInt, nonNegativeInt } from '../parse-options.js';
import { loadModelSample } from '../dataset-sample.js';
import type { CliIo } from '../main.js';

interface PredictOptions {
  model?: string;
  labels?: string;
  image?: string[];
  data?: string;
  dataDir?: string;
  labelMap?: string;
  split: 'train' | 'test';
  n: number;
  seed?: number;
  top: number;
  backend?: string;
  json?: boolean;
}

interface Prediction {
  source: string;
  label?: string;
  top: { label: string; index: number; confidence: number }[];
}

export function registerPredictCommand(program: Command, io: CliIo): void {
  program
    .command('predict')
    .description(
      'Classify images or dataset samples and print the top-k labels with confidences. ' +
        'With no --model it uses the bundled MNIST model; with no --image it classifies test samples of the dataset the model was trained on (MNIST by default).',
    )
    .option('--model <dir>', 'model directory (default: the bundled mnist-cnn)')
    .option('--labels <file>', 'class names for a model without advkit.json (txt, one per line, or JSON)')
    .option('--image <files...>', 'image file(s) to classify (PNG, JPEG, WebP, ...)')
    .option('--data <name>', 'dataset to sample: mnist, fashion-mnist, cifar10, or an image folder')
    .option('--data-dir <dir>', 'where dataset files are (default: $ADVKIT_DATA, then the user cache)')
    .option(
      '--label-map <file>',
      'image folder: class names and labels (e.g. imagenet_class_index.json, labels.csv)',
    )
    .option('--split <split>', 'dataset split: train or test', 'test')
    .option('--n <count>', 'number of dataset samples', positiveInt('--n'), 10)
    .option(
      '--seed <seed>',
      'pick the samples at random with this seed (default: the first n)',
      nonNegativeInt('--seed'),
    )
    .option('--top <k>', 'how many labels to show per image', positiveInt('--top'), 3)
    .option('--backend <name>', 'compute backend: wasm, cpu, tensorflow (default: best available)')
    .option('--json', 'print JSON')
    .action(async (opts: PredictOptions) => {
      if (opts.image && opts.data) throw invalidArgument('Give either --image or --data, not both.');
      if (opts.split !== 'train' && opts.split !== 'test') {
        throw invalidArgument(`--split must be train or test, got '${opts.split}'.`);
      }
      const backend = await initNodeBackend({ backend: opts.backend });
      const modelDir = opts.model ?? bundledModelDir('mnist-cnn');
      const classifier = await loadClassifier(modelDir, opts.labels ? { labels: opts.labels } : undefined);
      try {
        const predictions = opts.image
          ? await predictImages(classifier, opts.image, opts.top)
          : await predictDataset(classifier, opts);
        const accuracy = datasetAccuracy(predictions);
        if (opts.json) {
          io.stdout(JSON.stringify({ model: modelDir, backend, predictions, accuracy }, null, 2) + '\n');
        } else {
          io.stdout(formatPredictions(modelDir, backend, predictions, accuracy));
        }
      } finally {
        classifier.dispose();
      }
    });
}

async function predictImages(classifier: Classifier, files: string[], top: number): Promise<Prediction[]> {
  const [height, width, channels] = classifier.inputShape;
  const out: Prediction[] = [];
  for (const file of files) {
    const img = await readImageFile(file, { size: [height, width], channels: channels === 1 ? 1 : 3 });
    const x = tf.tensor4d(
      Float32Array.from(img.pixels, (v) => v / 255),
      [1, height, width, channels],
    );
    const [p] = await topK(classifier, x, top);
    x.dispose();
    out.push({ source: file, top: p });
  }
  return out;
}

async function predictDataset(classifier: Classifier, opts: PredictOptions): Promise<Prediction[]> {
  const { sample, indices } = await loadModelSample(classifier, opts);
  const { x, y } = toTensors(sample);
  try {
    const tops = await topK(classifier, x, opts.top);
    const labels = await y.data();
    return tops.map((top, i) => ({
      source: `${sample.name}/${sample.split}#${indices[i]}`,
      label: sample.classNames[labels[i]] ?? String(labels[i]),
      top,
    }));
  } finally {
    x.dispose();
    y.dispose();
  }
}

async function topK(classifier: Classifier, x: tf.Tensor4D, k: number): Promise<Prediction['top'][]> {
  const kk = Math.min(k, classifier.numClasses);
  const { values, indices } = tf.tidy(() => tf.topk(classifier.predict(x), kk));
  const [vals, idxs] = await Promise.all([values.array(), indices.array()]);
  values.dispose();
  indices.dispose();
  return vals.map((row, i) =>
    row.map((confidence, j) => {
      const index = idxs[i][j];
      return { label: classifier.classNames[index] ?? String(index), index, confidence };
    }),
  );
}

function datasetAccuracy(predictions: Prediction[]): number | undefined {
  const labelled = predictions.filter((p) => p.label !== undefined);
  if (labelled.length === 0) return undefined;
  return labelled.filter((p) => p.top[0]?.label === p.label).length / labelled.length;
}

function formatPredictions(
  model: string,
  backend: string,
  predictions: Prediction[],
  accuracy?: number,
): string {
  const lines = [`model: ${model} (backend: ${backend})`];
  for (const p of predictions) {
    const tops = p.top.map((t) => `${t.label} ${(100 * t.confidence).toFixed(1)}%`).join(', ');
    const truth =
      p.label !== undefined ? `  [true: ${p.label}${p.top[0]?.label === p.label ? ', ok' : ', WRONG'}]` : '';
    lines.push(`${p.source}: ${tops}${truth}`);
  }
  if (accuracy !== undefined) {
    lines.push(`top-1 accuracy on these ${predictions.length} samples: ${(100 * accuracy).toFixed(1)}%`);
  }
  return lines.join('\n') + '\n';
}
