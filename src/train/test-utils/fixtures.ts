import * as tfl from '@tensorflow/tfjs-layers';
import type { ImageDataset } from '../../data/dataset.js';
import { Classifier } from '../../models/classifier.js';
import { ADVKIT_MODEL_FORMAT } from '../../models/metadata.js';
import { Rng } from '../../util/rng.js';
import type { TrainingCheckpoint } from '../checkpoint.js';
import { resolveTrainOptions } from '../options.js';

/**
 * A small learnable dataset: class k has a bright square in the k-th cell of a grid on a noisy background,
 * so that a linear model, an MLP and a CNN all learn it in a few steps.
 */
export function blobDataset(opts: {
  count: number;
  size?: number;
  channels?: number;
  classes?: number;
  seed?: number;
}): ImageDataset {
  const { count, size = 8, channels = 1, classes = 4, seed = 1 } = opts;
  const rng = new Rng(seed);
  const cells = Math.ceil(Math.sqrt(classes));
  const cell = Math.floor(size / cells);
  const pixels = new Uint8Array(count * size * size * channels);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const label = rng.int(classes);
    labels[n] = label;
    const [cy, cx] = [Math.floor(label / cells) * cell, (label % cells) * cell];
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        const inside = i >= cy && i < cy + cell && j >= cx && j < cx + cell;
        for (let c = 0; c < channels; c++) {
          pixels[((n * size + i) * size + j) * channels + c] = inside ? 150 + rng.int(100) : rng.int(100);
        }
      }
    }
  }
  return {
    name: 'blobs',
    split: 'train',
    height: size,
    width: size,
    channels,
    count,
    pixels,
    labels,
    classNames: Array.from({ length: classes }, (_, k) => `blob${k}`),
  };
}

/** A checkpoint with awkward values (NaN, -0, a denormal, the largest uint32) for encoding tests. */
export function sampleCheckpoint(): TrainingCheckpoint {
  return {
    options: resolveTrainOptions({ epochs: 2, batchSize: 4, optimizer: 'adam', lr: 0.01, seed: 3 }),
    model: { architecture: 'mlp', architectureOptions: { hiddenSizes: [4] }, weightShapes: [[2, 3], [3]] },
    data: { name: 'blobs', split: 'train', count: 10, shape: [8, 8, 1], crc32: 12345 },
    step: 3,
    epoch: 1,
    batch: 0,
    rng: [1, 2, 3, 4294967295],
    epochTotals: { loss: 1.5, correct: 3, seen: 4 },
    history: [{ epoch: 0, loss: 0.7, accuracy: 0.5, lr: 0.01, seconds: 1.25 }],
    seconds: 2.5,
    weights: [Float32Array.from([1.5, -2, 3e-38, 4, 5, 6]), Float32Array.from([NaN, Infinity, -0])],
    optimizer: {
      kind: 'adam',
      iterations: 3,
      slots: {
        m: [new Float32Array(6).fill(0.25), new Float32Array(3)],
        v: [new Float32Array(6), new Float32Array(3).fill(7)],
      },
    },
  };
}

/**
 * A tiny conv net with batch-norm (conv3x3-4, BN, ReLU, maxpool, dense): small enough that its weight
 * gradients are quick even on the cpu backend, whose Conv2DBackpropFilter is slow.
 */
export function tinyBatchNormCnn(opts: {
  inputShape: [number, number, number];
  numClasses: number;
  seed: number;
  /** A dropout layer of this rate before the logits (none by default). */
  dropout?: number;
}): Classifier {
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: opts.seed * 10 + k });
  const net = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: opts.inputShape,
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        kernelInitializer: init(1),
      }),
      tfl.layers.batchNormalization({ momentum: 0.9 }),
      tfl.layers.reLU(),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      ...(opts.dropout === undefined ? [] : [tfl.layers.dropout({ rate: opts.dropout })]),
      tfl.layers.dense({ units: opts.numClasses, kernelInitializer: init(2) }),
    ],
  });
  return new Classifier(net, {
    format: ADVKIT_MODEL_FORMAT,
    advkitVersion: '',
    architecture: 'tiny-bn-cnn',
    inputShape: opts.inputShape,
    bounds: [0, 1],
    preprocessing: {},
    classNames: Array.from({ length: opts.numClasses }, (_, k) => String(k)),
  });
}
