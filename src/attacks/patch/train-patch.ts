import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../../models/model.js';
import { createOptimizer } from '../../optim/optimizers.js';
import { Rng } from '../../util/rng.js';
import { throwIfAborted } from '../attack-context.js';
import type { Cost } from '../types.js';
import { pastePatch, planTensors } from './paste-patch.js';
import {
  checkImages,
  resolvePatchTraining,
  type PatchTrainingOptions,
  type ResolvedPatchTraining,
} from './patch-options.js';
import { drawPlacements, patchMask, renderPlan } from './placement.js';

export interface TrainPatchOptions extends PatchTrainingOptions {
  signal?: AbortSignal;
  onProgress?: (progress: PatchProgress) => void;
}

export interface PatchProgress {
  step: number;
  steps: number;
  /** Mean target cross-entropy on this step's batch. */
  loss: number;
  /** Fraction of this step's batch predicted as the target. */
  successRate: number;
}

/** One optimisation step: the batch's mean target cross-entropy and its target success rate. */
export interface PatchStep {
  step: number;
  loss: number;
  successRate: number;
}

export interface TrainedPatch {
  /** [side, side, channels] within the model's bounds; the caller disposes it. */
  patch: tf.Tensor3D;
  /** [side, side], 1 on the patch and 0 off it (the disc of a 'circle' patch); the caller disposes it. */
  mask: tf.Tensor2D;
  /** Per step, on the training batch (with that step's random placements, before the update). */
  history: PatchStep[];
  /** Gradient evaluations and queries, counted per image. */
  cost: Cost;
  seconds: number;
  /** The options used, defaults filled in. */
  options: ResolvedPatchTraining;
}

/** Yield to the event loop at most this often (ms), as the attack runner does. */
const YIELD_INTERVAL_MS = 50;

/**
 * Adversarial Patch (Brown, Mané, Roy, Abadi & Gilmer 2017, "Adversarial Patch", arXiv:1712.09665): one
 * universal, targeted patch trained by Expectation over Transformation (Athalye et al. 2018), i.e. to maximise
 * E_{x, l, t}[log Pr(target | A(p, x, l, t))] over the images x and random placements l and transformations t
 * (scale, rotation), with the patch kept within the model's bounds. Each step draws `batchSize` images (a
 * seeded shuffle, epoch after epoch), one random placement per image, and takes a step on the batch's mean
 * target cross-entropy of the logits.
 *
 * Parameters and defaults: size 0.3 (the patch's side as a fraction of the image side; the area is size^2 for
 * a square, pi/4 size^2 for a disc), steps 500, batchSize 16 (the authors' notebook), shape 'circle' (the paper's
 * patches are discs), maxRotation 22.5 degrees (the paper's), scaleRange [0.8, 1.2] (relative to size; the
 * paper trains over a wide range of sizes, pass a wider range for robustness to scale), optimizer 'adam' with
 * learningRate 0.05 (a fraction of the input range per step, so the same on [0, 1], [-1, 1] and [0, 255] models). The authors' code takes plain gradient steps ('sgd' here), whose
 * useful step size depends on the model's gradient scale; Adam's does not, so one default serves the MNIST CNN
 * and the ImageNet model alike (on the MNIST CNN, plain steps at their best rate did no better). seed 0. The
 * patch starts mid-grey, as in the authors' code.
 *
 * @example const { patch } = await trainPatch(model, x, { target: model.classNames.indexOf('soccer_ball') });
 */
export async function trainPatch(
  classifier: Model,
  images: tf.Tensor4D,
  options: TrainPatchOptions,
): Promise<TrainedPatch> {
  const o = resolvePatchTraining(options, classifier.numClasses);
  checkImages(classifier, images);
  const [, h, w, c] = images.shape;
  const side = Math.max(1, Math.round(o.size * Math.min(h, w)));
  const [lo, hi] = classifier.bounds;
  const mask = patchMask(side, o.shape);
  const rng = new Rng(o.seed);
  const sampler = new BatchSampler(images.shape[0], o.batchSize, rng.fork());
  const placementRng = rng.fork();
  // The patch is optimised in units of the input range (0 = lo, 1 = hi), so the learning rate and Adam's epsilon
  // mean the same on [0, 1], [-1, 1] and [0, 255] models. Variables survive tidy; the initial value does not.
  const unit = tf.tidy(() => tf.variable(tf.fill<tf.Rank.R3>([side, side, c], 0.5), true));
  const toBounds = (u: tf.Tensor3D): tf.Tensor3D => tf.add(tf.mul(u, hi - lo), lo);
  const optimizer = createOptimizer([unit], { kind: o.optimizer });
  const targetOneHot = tf.tidy(() => tf.oneHot(tf.tensor1d([o.target], 'int32'), classifier.numClasses));
  const history: PatchStep[] = [];
  const cost: Cost = { gradients: 0, queries: 0 };
  const started = Date.now();
  let lastYield = started;
  try {
    for (let step = 0; step < o.steps; step++) {
      throwIfAborted(options.signal);
      const rows = sampler.next();
      const placements = drawPlacements(
        rows.length,
        { height: h, width: w },
        side,
        { scale: o.scaleRange, rotation: [-o.maxRotation, o.maxRotation] },
        placementRng,
      );
      const plan = planTensors(renderPlan(placements, { height: h, width: w }, side, mask));
      const batch = tf.tidy(() => tf.gather(images, tf.tensor1d(rows, 'int32')));
      let logits: tf.Tensor2D | undefined;
      try {
        const { value, grads } = tf.variableGrads(() => {
          const z = classifier.logits(tf.clipByValue(pastePatch(batch, toBounds(unit), plan), lo, hi));
          logits = tf.keep(z);
          // Mean target cross-entropy: minimising it maximises E[log Pr(target | A(p, x, l, t))].
          const picked = tf.sum(tf.mul(tf.logSoftmax(z), targetOneHot), 1);
          return tf.neg<tf.Scalar>(tf.mean<tf.Scalar>(picked));
        }, [unit]);
        optimizer.apply([grads[unit.name]], o.learningRate);
        tf.tidy(() => unit.assign(tf.clipByValue(unit, 0, 1)));
        const loss = value.dataSync()[0];
        tf.dispose([value, grads[unit.name]]);
        const successRate = targetRate(logits, o.target);
        history.push({ step, loss, successRate });
        cost.gradients += rows.length;
        cost.queries += rows.length;
        options.onProgress?.({ step: step + 1, steps: o.steps, loss, successRate });
      } finally {
        logits?.dispose();
        batch.dispose();
        plan.dispose();
      }
      if (Date.now() - lastYield >= YIELD_INTERVAL_MS) {
        lastYield = Date.now();
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
      }
    }
    return {
      patch: tf.tidy(() => toBounds(unit)),
      mask: tf.tensor2d(mask, [side, side]),
      history,
      cost,
      seconds: (Date.now() - started) / 1000,
      options: o,
    };
  } finally {
    optimizer.dispose();
    unit.dispose();
    targetOneHot.dispose();
  }
}

function targetRate(logits: tf.Tensor2D | undefined, target: number): number {
  if (logits === undefined) return 0;
  const pred = tf.tidy(() => tf.argMax(logits, 1));
  const p = pred.dataSync();
  pred.dispose();
  let hits = 0;
  for (let i = 0; i < p.length; i++) hits += Number(p[i] === target);
  return p.length === 0 ? 0 : hits / p.length;
}

/**
 * Images for each step: a seeded shuffle, epoch after epoch; a batch that runs past the end of one shuffle
 * continues into the next, so every step sees min(batchSize, count) distinct images.
 */
class BatchSampler {
  private order: Int32Array;
  private position = 0;

  constructor(
    private readonly count: number,
    private readonly batchSize: number,
    private readonly rng: Rng,
  ) {
    this.order = rng.permutation(count);
  }

  next(): Int32Array {
    const size = Math.min(this.batchSize, this.count);
    const rows = new Int32Array(size);
    const used = new Set<number>();
    let filled = 0;
    while (filled < size) {
      if (this.position >= this.count) {
        this.order = this.rng.permutation(this.count);
        this.position = 0;
      }
      const row = this.order[this.position++];
      // A fresh shuffle may repeat an image already in this batch: skip it (it is seen again next epoch).
      if (used.has(row)) continue;
      used.add(row);
      rows[filled++] = row;
    }
    return rows;
  }
}
