import * as tf from '@tensorflow/tfjs-core';
import { batchIndices } from '../data/batching.js';
import { toTensors, type ImageDataset } from '../data/dataset.js';
import { AdvkitError, invalidArgument } from '../errors.js';
import type { Classifier } from '../models/classifier.js';
import { Rng } from '../util/rng.js';
import { mixSeed } from '../util/seeded-math-random.js';
import { epsAt, epsWarmupSteps } from './adversarial/eps-schedule.js';
import { EpochGuard, GUARD_BEST_WEIGHTS, type GuardReport } from './adversarial/guard.js';
import { adversarialMethod } from './adversarial/methods.js';
import { assertAdversarialFits } from './adversarial/options.js';
import {
  lossAndHits,
  noStats,
  readStats,
  statsVector,
  weightGradients,
  type MicroBatch,
  type StepSettings,
  type StepStats,
  type TrainingMethod,
} from './adversarial/training-method.js';
import { gaussianNoise, randomCropFlip } from './augment.js';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  type CheckpointStore,
  type EpochMetrics,
  type EpochTotals,
  type TrainingCheckpoint,
} from './checkpoint.js';
import { assertDataFitsClassifier, evaluateAccuracy } from './evaluate.js';
import { crossEntropyFromLogits } from './loss.js';
import { allModelVariables, readWeights, writeWeights } from './model-weights.js';
import { createOptimizer, type Optimizer } from '../optim/optimizers.js';
import {
  optimizerConfig,
  resolveTrainOptions,
  scheduleConfig,
  type ResolvedTrainOptions,
  type TrainOptions,
} from './options.js';
import { assertCheckpointMatches, fingerprintData } from './resume.js';
import { learningRateAt, validateSchedule } from './schedules.js';

/** Adversarial training's view of the epoch so far (TrainProgress.adversarial). */
export interface AdversarialProgress {
  /** The budget of the last step (below the target during the eps warm-up). */
  eps: number;
  /** Cross-entropy and accuracy on the clean training images (before the step's update). */
  cleanLoss: number;
  cleanAccuracy: number;
  /** Cross-entropy and accuracy on the adversarial examples the step trained on. */
  adversarialLoss: number;
  adversarialAccuracy: number;
}

/** Reported after every optimizer step ('step') and after each epoch and its evaluation ('epoch'). */
export interface TrainProgress {
  phase: 'step' | 'epoch';
  /** 0-based epoch in progress (or just finished, for 'epoch'). */
  epoch: number;
  epochs: number;
  /** Optimizer steps done in the whole run. */
  step: number;
  totalSteps: number;
  /** Steps done in this epoch (Free AT: replays included). */
  batch: number;
  batchesPerEpoch: number;
  /**
   * Mean training objective and accuracy over this epoch so far (augmented images, training mode); with
   * adversarial training the accuracy is on the adversarial examples.
   */
  loss: number;
  accuracy: number;
  /** Learning rate of the last step. */
  lr: number;
  /** Training throughput over this epoch so far in this process (images per optimizer step, per second). */
  imagesPerSecond: number;
  /** Accuracy on hooks.eval, on 'epoch' reports when an eval set was given. */
  evalAccuracy?: number;
  /** Adversarial training only: clean and adversarial loss and accuracy over this epoch so far. */
  adversarial?: AdversarialProgress;
  /** FGSM-RS guard, on 'epoch' reports: PGD accuracy on the guard batch, and whether it collapsed. */
  robustAccuracy?: number;
  collapsed?: boolean;
}

export interface TrainHooks {
  /** Called synchronously; the library never prints, the CLI draws its progress bar from these. */
  onProgress?(progress: TrainProgress): void;
  /**
   * Stops at the next batch boundary (Free AT: after the batch's replays), writes a checkpoint (when a store
   * is given) and returns completed=false.
   */
  signal?: AbortSignal;
  /** Where checkpoints go: every options.checkpointEvery steps, at each epoch end and when stopped. */
  checkpoint?: CheckpointStore;
  /** Continue from the checkpoint in `checkpoint` (which must exist and belong to this same run). */
  resume?: boolean;
  /** Held-out data evaluated after each epoch (e.g. the test split); the FGSM-RS guard's batch comes from it. */
  eval?: ImageDataset;
}

export interface TrainResult {
  /** False when stopped by the signal before the last epoch ended. */
  completed: boolean;
  steps: number;
  /** Finished epochs. */
  epochs: number;
  /**
   * Metrics of the epoch whose weights the model ends with: the last finished one, or the guard's best epoch
   * when the FGSM-RS guard restored it (NaN when no epoch finished).
   */
  loss: number;
  accuracy: number;
  evalAccuracy?: number;
  /** All metrics of that epoch (absent when none finished). */
  final?: EpochMetrics;
  history: EpochMetrics[];
  /** Training time summed over all processes that worked on this run (resumes included). */
  seconds: number;
  /** Step at which this call resumed, when it did. */
  resumedFromStep?: number;
  options: ResolvedTrainOptions;
  /** The FGSM-RS guard's outcome (robust accuracy per epoch, best epoch, collapse, whether it restored). */
  guard?: GuardReport;
}

const EVAL_BATCH_SIZE = 256;

/** Lets timers and signal handlers run between steps (Ctrl-C must be able to stop a run). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function emptyTotals(): Required<EpochTotals> {
  return {
    loss: 0,
    correct: 0,
    seen: 0,
    cleanLoss: 0,
    cleanCorrect: 0,
    cleanSeen: 0,
    adversarialLoss: 0,
    adversarialCorrect: 0,
    adversarialSeen: 0,
  };
}

function addStats(totals: Required<EpochTotals>, s: StepStats, images: number): void {
  totals.loss += s.objective;
  totals.correct += s.correct;
  totals.seen += images;
  totals.cleanLoss += s.cleanLoss;
  totals.cleanCorrect += s.cleanCorrect;
  totals.cleanSeen += s.cleanCount;
  totals.adversarialLoss += s.adversarialLoss;
  totals.adversarialCorrect += s.adversarialCorrect;
  totals.adversarialSeen += s.adversarialCount;
}

function adversarialView(t: Required<EpochTotals>, eps: number): AdversarialProgress {
  return {
    eps,
    cleanLoss: t.cleanLoss / t.cleanSeen,
    cleanAccuracy: t.cleanCorrect / t.cleanSeen,
    adversarialLoss: t.adversarialLoss / t.adversarialSeen,
    adversarialAccuracy: t.adversarialCorrect / t.adversarialSeen,
  };
}

/**
 * Trains `classifier` in place on `data`: mini-batch SGD/Adam over the softmax cross-entropy of its logits
 * (or, with opts.adversarial, of adversarial examples: PGD-AT, FGSM-RS, Free AT or TRADES), with the data
 * order from batchIndices(seed, epoch) and augmentation and attack randomness drawn from an Rng seeded by the
 * same seed. A run stopped and resumed from its checkpoint reaches the same weights as a run never stopped
 * (same backend): the checkpoint holds all weights, optimizer slots, Rng state, the data position, Free AT's
 * perturbation and the guard's state.
 */
export async function train(
  classifier: Classifier,
  data: ImageDataset,
  opts: TrainOptions,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const o = resolveTrainOptions(opts);
  const adv = o.adversarial;
  assertDataFitsClassifier(classifier, data);
  if (hooks.eval !== undefined) assertDataFitsClassifier(classifier, hooks.eval);
  if (adv !== undefined) assertAdversarialFits(adv, classifier, data);
  if (hooks.resume === true && hooks.checkpoint === undefined) {
    throw invalidArgument('Resuming needs a checkpoint store (hooks.checkpoint).');
  }
  const weights = allModelVariables(classifier);
  const variables = classifier.trainableVariables();
  if (variables.length === 0) throw new AdvkitError('UNSUPPORTED', 'The model has no trainable variables.');

  const imagesPerStep = o.batchSize * o.accumulate;
  const replays = adv?.method === 'free' ? adv.replays : 1;
  const batchesPerEpoch = Math.ceil(data.count / imagesPerStep);
  const stepsPerEpoch = batchesPerEpoch * replays;
  const totalSteps = o.epochs * stepsPerEpoch;
  const schedule = scheduleConfig(o, stepsPerEpoch);
  validateSchedule(schedule);
  const warmup = adv === undefined ? 0 : epsWarmupSteps(adv.epsWarmup, stepsPerEpoch);
  const identity: Pick<TrainingCheckpoint, 'options' | 'model' | 'data'> = {
    options: o,
    model: {
      architecture: classifier.metadata.architecture,
      architectureOptions: classifier.metadata.architectureOptions,
      weightShapes: weights.map((w) => [...w.shape]),
    },
    data: fingerprintData(data),
  };
  const guard = EpochGuard.of(adv, classifier, weights, { seed: o.seed, train: data, eval: hooks.eval });

  const optimizer = createOptimizer(variables, optimizerConfig(o));
  const method =
    adv === undefined
      ? standardMethod(classifier, variables, o.labelSmoothing)
      : adversarialMethod(adv, { classifier, variables, labelSmoothing: o.labelSmoothing, imagesPerStep });
  try {
    let step = 0;
    let rng = new Rng(o.seed);
    let totals = emptyTotals();
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
      if (ckpt.step % replays !== 0) {
        throw new AdvkitError(
          'CORRUPT_DATA',
          `Checkpoint ${store.location} stopped at step ${ckpt.step}, inside a batch's ${replays} replays.`,
        );
      }
      writeWeights(weights, ckpt.weights);
      optimizer.setState(ckpt.optimizer);
      if (adv !== undefined) method.restore(ckpt.extra ?? {});
      ({ step, history, seconds: secondsBefore } = ckpt);
      rng = Rng.fromState(ckpt.rng);
      totals = { ...emptyTotals(), ...ckpt.epochTotals };
      if (ckpt.guard !== undefined) guard?.restore(ckpt.guard, ckpt.extra?.[GUARD_BEST_WEIGHTS]);
      resumedFromStep = step;
    }

    const startedAt = performance.now();
    const elapsed = (): number => secondsBefore + (performance.now() - startedAt) / 1000;
    let savedStep = -1;
    const save = async (): Promise<void> => {
      if (hooks.checkpoint === undefined || savedStep === step) return;
      const guarded = guard?.checkpoint();
      const extra = { ...(await method.state()), ...guarded?.extra };
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
        ...(Object.keys(extra).length > 0 ? { extra } : {}),
        ...(guarded !== undefined ? { guard: guarded.state } : {}),
      };
      await hooks.checkpoint.write(encodeCheckpoint(ckpt));
      savedStep = step;
    };
    const result = (completed: boolean): TrainResult => {
      const guardReport: GuardReport | undefined = guard?.finish(completed, history.at(-1)?.epoch);
      const last = guardReport?.restored === true ? history[guardReport.bestEpoch] : history.at(-1);
      return {
        completed,
        steps: step,
        epochs: history.length,
        loss: last?.loss ?? NaN,
        accuracy: last?.accuracy ?? NaN,
        evalAccuracy: last?.evalAccuracy,
        ...(last !== undefined ? { final: last } : {}),
        history,
        seconds: elapsed(),
        resumedFromStep,
        options: o,
        ...(guardReport !== undefined ? { guard: guardReport } : {}),
      };
    };

    let lr = learningRateAt(schedule, Math.min(step, totalSteps - 1));
    let eps = adv === undefined ? 0 : epsAt(Math.min(step, totalSteps - 1), adv.eps, warmup);
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
      const report = (phase: 'step' | 'epoch', extra: Partial<TrainProgress> = {}): void =>
        hooks.onProgress?.({
          phase,
          epoch,
          epochs: o.epochs,
          step,
          totalSteps,
          batch: step - epoch * stepsPerEpoch,
          batchesPerEpoch: stepsPerEpoch,
          loss: totals.loss / totals.seen,
          accuracy: totals.correct / totals.seen,
          lr,
          imagesPerSecond: epochImages / ((performance.now() - epochStart) / 1000),
          ...(adv !== undefined ? { adversarial: adversarialView(totals, eps) } : {}),
          ...extra,
        });
      for (let b = (step % stepsPerEpoch) / replays; b < batchesPerEpoch; b++) {
        if (hooks.signal?.aborted === true) {
          await save();
          return result(false);
        }
        const stepRng = rng.fork();
        const micros = prepareMicroBatches(data, batches[b], o, stepRng);
        const attackRng = adv === undefined ? null : stepRng.fork();
        try {
          for (let replay = 0; replay < replays; replay++) {
            lr = learningRateAt(schedule, step);
            if (adv !== undefined) eps = epsAt(step, adv.eps, warmup);
            const dropoutSeed = mixSeed(o.seed, step);
            const stats = await trainStep(method, micros, optimizer, lr, {
              eps,
              rng: attackRng,
              replay,
              dropoutSeed,
            });
            step++;
            addStats(totals, stats, batches[b].length);
            epochImages += batches[b].length;
            report('step');
            await yieldToEventLoop();
          }
        } finally {
          for (const m of micros) tf.dispose([m.x, m.y]);
        }
        const every = o.checkpointEvery;
        const crossed = every > 0 && Math.floor(step / every) > Math.floor((step - replays) / every);
        if (crossed && b + 1 < batchesPerEpoch) await save();
      }
      const metrics: EpochMetrics = {
        epoch,
        loss: totals.loss / totals.seen,
        accuracy: totals.correct / totals.seen,
        lr,
        seconds: elapsed(),
      };
      if (adv !== undefined) Object.assign(metrics, adversarialView(totals, eps));
      if (hooks.eval !== undefined)
        metrics.evalAccuracy = await evaluateAccuracy(classifier, hooks.eval, EVAL_BATCH_SIZE);
      const guarded = await guard?.endEpoch(epoch);
      if (guarded !== undefined) metrics.robustAccuracy = guarded.robustAccuracy;
      history = [...history, metrics];
      report('epoch', {
        loss: metrics.loss,
        accuracy: metrics.accuracy,
        evalAccuracy: metrics.evalAccuracy,
        ...guarded,
      });
      totals = emptyTotals();
      await save();
    }
    return result(true);
  } finally {
    method.dispose();
    optimizer.dispose();
  }
}

/** Standard training: the weight gradient of the label-smoothed cross-entropy on the batch, training mode. */
function standardMethod(
  classifier: Classifier,
  variables: tf.Variable[],
  labelSmoothing: number,
): TrainingMethod {
  return {
    micro: async (b: MicroBatch, step: StepSettings) =>
      weightGradients(variables, b, step, () => {
        const logits = classifier.logits(b.x, { training: true });
        const loss = crossEntropyFromLogits(logits, b.y, { labelSmoothing });
        const trained = lossAndHits(logits, b.y, labelSmoothing);
        return { loss, stats: statsVector(loss, b.labels.length, trained, noStats(), noStats()) };
      }),
    state: async () => ({}),
    restore: () => undefined,
    dispose: () => undefined,
  };
}

/**
 * The step's images `indices` as micro-batches of o.batchSize, augmented with draws from `rng` in order
 * (per micro-batch: the crop-flip, then the Gaussian noise of o.noiseSigma). `rng` is the step's fork of the
 * run's Rng, whose state the checkpoint holds, so a resumed run draws the same noise.
 * Each micro-batch's mean loss is weighted by its share of the images, so the summed gradient is the gradient
 * of the mean loss over all of them: the same as one big batch for models without batch-norm.
 */
function prepareMicroBatches(
  data: ImageDataset,
  indices: Int32Array,
  o: ResolvedTrainOptions,
  rng: Rng,
): MicroBatch[] {
  const micros: MicroBatch[] = [];
  for (let start = 0; start < indices.length; start += o.batchSize) {
    const micro = indices.subarray(start, Math.min(start + o.batchSize, indices.length));
    const { x, y } = toTensors(data, micro);
    const cropped = o.augment === 'crop-flip' ? tf.tidy(() => randomCropFlip(x, rng)) : x;
    if (cropped !== x) x.dispose();
    const sigma = o.noiseSigma ?? 0;
    const input = sigma > 0 ? gaussianNoise(cropped, sigma, rng) : cropped;
    if (input !== cropped) cropped.dispose();
    micros.push({
      x: input,
      y,
      labels: Int32Array.from(micro, (i) => data.labels[i]),
      offset: start,
      weight: micro.length / indices.length,
    });
  }
  return micros;
}

/** One optimizer step: the method's gradients of every micro-batch, summed, applied at learning rate lr. */
async function trainStep(
  method: TrainingMethod,
  micros: MicroBatch[],
  optimizer: Optimizer,
  lr: number,
  settings: StepSettings,
): Promise<StepStats> {
  let gradSums: tf.Tensor[] | null = null;
  const stats: tf.Tensor1D[] = [];
  try {
    for (const micro of micros) {
      const out = await method.micro(micro, settings);
      stats.push(out.stats);
      if (gradSums === null) {
        gradSums = out.grads;
      } else {
        const previous: tf.Tensor[] = gradSums;
        gradSums = previous.map((g, i) => tf.add(g, out.grads[i]));
        tf.dispose([...previous, ...out.grads]);
      }
    }
    if (gradSums === null) throw new AdvkitError('INTERNAL', 'An optimizer step got no images.');
    optimizer.apply(gradSums, lr);
    return await readStats(stats);
  } finally {
    tf.dispose(stats);
    if (gradSums !== null) tf.dispose(gradSums);
  }
}
