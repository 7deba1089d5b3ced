import { describe, expect, it } from 'vitest';
import { resolveTrainOptions } from './options.js';
import { blobDataset } from './test-utils/fixtures.js';
import type { TrainResult } from './train.js';
import { trainingMetadata } from './training-metadata.js';

describe('trainingMetadata', () => {
  it('records the resolved options, data, backend, history and metrics', () => {
    const options = resolveTrainOptions({ epochs: 1, batchSize: 8, optimizer: 'adam', lr: 0.001, seed: 7 });
    const history = [{ epoch: 0, loss: 0.5, accuracy: 0.8, evalAccuracy: 0.75, lr: 0.001, seconds: 2.4 }];
    const result: TrainResult = {
      completed: true,
      steps: 9,
      epochs: 1,
      loss: 0.5,
      accuracy: 0.8,
      evalAccuracy: 0.75,
      history,
      seconds: 2.4,
      options,
    };
    const meta = trainingMetadata(result, blobDataset({ count: 70 }), {
      backend: 'wasm',
      test: { accuracy: 0.76, count: 40 },
    });
    expect(meta).toEqual({
      dataset: 'blobs',
      seed: 7,
      training: {
        ...options,
        noiseSigma: 0, // spelled out even when off
        data: 'blobs',
        split: 'train',
        backend: 'wasm',
        seconds: 2,
        history,
      },
      metrics: { trainLoss: 0.5, trainAccuracy: 0.8, testAccuracy: 0.76, testCount: 40 },
    });
    const noisy = { ...result, options: resolveTrainOptions({ ...options, noiseSigma: 0.25 }) };
    expect(trainingMetadata(noisy, blobDataset({ count: 70 })).training).toMatchObject({ noiseSigma: 0.25 });
    expect(trainingMetadata(result, blobDataset({ count: 70 })).metrics).toEqual({
      trainLoss: 0.5,
      trainAccuracy: 0.8,
    });
  });
});
