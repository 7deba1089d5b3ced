import * as tf from '@tensorflow/tfjs-core';
import { batchIndices } from '../data/batching.js';
import { toTensors, type ImageDataset } from '../data/dataset.js';
import { AdvkitError, invalidArgument } from '../errors.js';
import type { Classifier } from '../models/classifier.js';
import { Rng } from '../util/rng.js';
import { randomCropFlip } from './augment.js';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  type CheckpointStore,
  type EpochMetrics,
  type TrainingCheckpoint,
} from './checkpoint.js';
import { assertDataFitsClassifier, evaluateAccuracy } from './evaluate.js';
import { crossEntropyFromLogits } from './loss.js';
import { allModelVariables, readWeights, writeWeights } from './model-weights.js';
import { createOptimizer, type Optimizer } from './optimizers.js';
import {
  optimizerConfig,
  resolveTrainOptions,
  scheduleConfig,
  type ResolvedTrainOptions,
  type TrainOptions,
} from './options.js';
import { assertCheckpointMatches, fingerprintData } from './resume.js';
import { learningRateAt, validateSchedule } from './schedules.js';

/** Reported after every optimizer step ('step') and after each epoch and its evaluation ('epoch'). */
export interface TrainProgress {
  phase: 'step' | 'epoch';
  /** 0-based epoch in progress (or just finished, for 'epoch'). */
  epoch: number;
  epochs: number;
  /** Optimizer steps done in the whole run. */
  step: number;
  totalSteps: number;
  /** Steps done in this epoch. */
  batch: number;
  batchesPerEpoch: number;
  /** Mean training loss and accuracy over this epoch so far (augmented images, training mode). */
  loss: number;
  accuracy: number;
  /** Learning rate of the last step. */
  lr: number;
  /** Training throughput over this epoch so far in this process. */
  imagesPerSecond: number;
  /** Accuracy on hooks.eval, on 'epoch' reports when an eval set was given. */
  evalAccuracy?: number;
}

export interface TrainHooks {
  /** Called synchronously; the library never prints, the CLI draws its progress bar from these. */
  onProgress?(progress: TrainProgress): void;
  /** Stops at the next step boundary, writes a checkpoint (when a store is given) and returns completed=false. */
  signal?: AbortSignal;
  /** Where checkpoints go: every options.checkpointEvery steps, at each epoch end and when stopped. */
  checkpoint?: CheckpointStore;
  /** Continue from the checkpoint in `checkpoint` (which must exist and belong to this same run). */
  resume?: boolean;
  /** Held-out data evaluated after each epoch (e.g. the test split). */
  eval?: ImageDataset;
}

export interface TrainResult {
  /** False when stopped by the signal before the last epoch ended. */
  completed: boolean;
  steps: number;
  /** Finished epochs. */
  epochs: number;
  /** Metrics of the last finished epoch (NaN when none finished). */
  loss: number;
  accuracy: number;
  evalAccuracy?: number;
  history: EpochMetrics[];
  /** Training time summed over all processes that worked on this run (resumes included). */
  seconds: number;
  /** Step at which this call resumed, when it did. */
  resumedFromStep?: number;
  options: ResolvedTrainOptions;
}

const EVAL_BATCH_SIZE = 256;

/** Lets timers and signal handlers run between steps (Ctrl-C must be able to stop a run). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Trains `classifier` in place on `data`: mini-batch SGD/Adam over the softmax cross-entropy of its logits,
 * with the data order from batchIndices(seed, epoch) and augmentation drawn from an Rng seeded by the same
 * seed. A run stopped and resumed from its checkpoint reaches the same weights as a run never stopped
 * (same backend): the checkpoint holds all weights, optimizer slots, Rng state and the data position.
 */
export async function train(
  classifier: Classifier,
  data: ImageDataset,
  opts: TrainOptions,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const o = resolveTrainOptions(opts);
  assertDataFitsClassifier(classifier, data);
  if (hooks.eval !== undefined) assertDataFitsClassifier(classifier, hooks.eval);
  if (hooks.resume === true && hooks.checkpoint === undefined) {
    throw invalidArgument('Resuming needs a checkpoint store (hooks.checkpoint).');
  }
  const weights = allModelVariables(classifier);
  const variables = classifier.trainableVariables();
  if (variables.length === 0) throw new AdvkitError('UNSUPPORTED', 'The model has no trainable variables.');

  const imagesPerStep = o.batchSize * o.accumulate;
  const stepsPerEpoch = Math.ceil(data.count / imagesPerStep);
  const totalSteps = o.epochs * stepsPerEpoch;
  const schedule = scheduleConfig(o, stepsPerEpoch);
  validateSchedule(schedule);
  const identity: Pick<TrainingCheckpoint, 'options' | 'model' | 'data'> = {
    options: o,
    model: {
      architecture: classifier.metadata.architecture,
      architectureOptions: classifier.metadata.architectureOptions,
      weightShapes: weights.map((w) => [...w.shape]),
    },
    data: fingerprintData(data),
  };

  const optimizer = createOptimizer(variables, optimizerConfig(o));
  try {
    let step = 0;
    let rng = new Rng(o.seed);
    let totals = { loss: 0, correct: 0, seen: 0 };
    let history: EpochMetrics[] = [];
    let secondsBefore = 0;
    let resumedFromStep: number | undefined;
    if (hooks.resume === true && hooks.checkpoint !== undefined) {
      const store = hooks.checkpoint;
      const bytes = await store.read();
      if (bytes === null) {
        throw new AdvkitError('NOT_FOUND', `No checkpoint to resume from at ${store.location}.`, {
          file: store.location,
        });
      }
      const ckpt = decodeCheckpoint(bytes, store.location);
      assertCheckpointMatches(ckpt, identity, store.location);
      writeWeights(weights, ckpt.weights);
      optimizer.setState(ckpt.optimizer);
      ({ step, history, seconds: secondsBefore } = ckpt);
      rng = Rng.fromState(ckpt.rng);
      totals = { ...ckpt.epochTotals };
      resumedFromStep = step;
    }

    const startedAt = performance.now();
    const elapsed = (): number => secondsBefore + (performance.now() - startedAt) / 1000;
    let savedStep = -1;
    const save = async (): Promise<void> => {
      if (hooks.checkpoint === undefined || savedStep === step) return;
      const ckpt: TrainingCheckpoint = {
        ...identity,
        step,
        epoch: Math.floor(step / stepsPerEpoch),
        batch: step % stepsPerEpoch,
        rng: rng.state(),
        epochTotals: { ...totals },
        history,
        seconds: elapsed(),
        weights: await readWeights(weights),
        optimizer: await optimizer.getState(),
      };
      await hooks.checkpoint.write(encodeCheckpoint(ckpt));
      savedStep = step;
    };
    const result = (completed: boolean): TrainResult => {
      const last = history.at(-1);
      return {
        completed,
        steps: step,
        epochs: history.length,
        loss: last?.loss ?? NaN,
        accuracy: last?.accuracy ?? NaN,
        evalAccuracy: last?.evalAccuracy,
        history,
        seconds: elapsed(),
        resumedFromStep,
        options: o,
      };
    };

    let lr = learningRateAt(schedule, Math.min(step, totalSteps - 1));
    while (step < totalSteps) {
      const epoch = Math.floor(step / stepsPerEpoch);
      const batches = batchIndices(data.count, {
        batchSize: imagesPerStep,
        shuffle: o.shuffle,
        seed: o.seed,
        epoch,
      });
      const epochStart = performance.now();
      let epochImages = 0;
      for (let b = step % stepsPerEpoch; b < stepsPerEpoch; b++) {
        if (hooks.signal?.aborted === true) {
          await save();
          return result(false);
        }
        lr = learningRateAt(schedule, step);
        const stats = await trainStep(classifier, variables, optimizer, data, batches[b], lr, rng.fork(), o);
        step++;
        totals.loss += stats.lossSum;
        totals.correct += stats.correct;
        totals.seen += batches[b].length;
        epochImages += batches[b].length;
        hooks.onProgress?.({
          phase: 'step',
          epoch,
          epochs: o.epochs,
          step,
          totalSteps,
          batch: b + 1,
          batchesPerEpoch: stepsPerEpoch,
          loss: totals.loss / totals.seen,
          accuracy: totals.correct / totals.seen,
          lr,
          imagesPerSecond: epochImages / ((performance.now() - epochStart) / 1000),
        });
        if (o.checkpointEvery > 0 && step % o.checkpointEvery === 0 && b + 1 < stepsPerEpoch) await save();
        await yieldToEventLoop();
      }
      const metrics: EpochMetrics = {
        epoch,
        loss: totals.loss / totals.seen,
        accuracy: totals.correct / totals.seen,
        lr,
        seconds: elapsed(),
      };
      if (hooks.eval !== undefined)
        metrics.evalAccuracy = await evaluateAccuracy(classifier, hooks.eval, EVAL_BATCH_SIZE);
      history = [...history, metrics];
      totals = { loss: 0, correct: 0, seen: 0 };
      hooks.onProgress?.({
        phase: 'epoch',
        epoch,
        epochs: o.epochs,
        step,
        totalSteps,
        batch: stepsPerEpoch,
        batchesPerEpoch: stepsPerEpoch,
        loss: metrics.loss,
        accuracy: metrics.accuracy,
        lr,
        imagesPerSecond: epochImages / ((performance.now() - epochStart) / 1000),
        evalAccuracy: metrics.evalAccuracy,
      });
      await save();
    }
    return result(true);
  } finally {
    optimizer.dispose();
  }
}

/**
 * One optimizer step over the images `indices`, split into micro-batches of o.batchSize whose gradients are
 * summed. Each micro-batch loss is weighted by its share of the images, so the summed gradient is the
 * gradient of the mean loss over all of them: the same as one big batch for models without batch-norm.
 */
async function trainStep(
  classifier: Classifier,
  variables: tf.Variable[],
  optimizer: Optimizer,
  data: ImageDataset,
  indices: Int32Array,
  lr: number,
  augmentRng: Rng,
  o: ResolvedTrainOptions,
): Promise<{ lossSum: number; correct: number }> {
  let gradSums: tf.Tensor[] | null = null;
  const scalars: tf.Tensor[] = [];
  try {
    for (let start = 0; start < indices.length; start += o.batchSize) {
      const micro = indices.subarray(start, Math.min(start + o.batchSize, indices.length));
      const weight = micro.length / indices.length;
      const { grads, loss, correct } = tf.tidy(() => {
        const { x, y } = toTensors(data, micro);
        const input = o.augment === 'crop-flip' ? randomCropFlip(x, augmentRng) : x;
        let hits: tf.Tensor | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const logits = classifier.logits(input, { training: true });
          hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32')));
          return crossEntropyFromLogits(logits, y, { labelSmoothing: o.labelSmoothing, weight });
        }, variables);
        if (hits === undefined) throw new AdvkitError('INTERNAL', 'The forward pass did not run.');
        return { grads: variables.map((v) => grads[v.name]), loss: value, correct: hits };
      });
      scalars.push(loss, correct);
      if (gradSums === null) {
        gradSums = grads;
      } else {
        const previous: tf.Tensor[] = gradSums;
        gradSums = previous.map((g, i) => tf.add(g, grads[i]));
        tf.dispose([...previous, ...grads]);
      }
    }
    if (gradSums === null) throw new AdvkitError('INTERNAL', 'An optimizer step got no images.');
    optimizer.apply(gradSums, lr);
    const values = await Promise.all(scalars.map(async (s) => (await s.data())[0]));
    let lossSum = 0;
    let correct = 0;
    for (let i = 0; i < values.length; i += 2) {
      lossSum += values[i] * indices.length; // the weighted micro-batch means sum to the step's mean loss
      correct += values[i + 1];
    }
    return { lossSum, correct };
  } finally {
    tf.dispose(scalars);
    if (gradSums !== null) tf.dispose(gradSums);
  }
}
