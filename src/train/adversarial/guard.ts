import type * as tf from '@tensorflow/tfjs-core';
import { pgd } from '../../attacks/pgd.js';
import { runAttack } from '../../attacks/run-attack.js';
import { take, toTensors, type ImageDataset } from '../../data/dataset.js';
import type { Classifier } from '../../models/classifier.js';
import { Rng } from '../../util/rng.js';
import { readWeights, writeWeights } from '../model-weights.js';
import type { AdversarialNorm, ResolvedAdversarialOptions, ResolvedGuardOptions } from './options.js';

/** What the guard knows after some epochs (kept in checkpoints so that a resumed run guards the same way). */
export interface GuardState {
  /** PGD accuracy on the guard batch after each finished epoch. */
  robustAccuracy: number[];
  /** Epoch whose weights are kept (-1 before the first epoch ends). */
  bestEpoch: number;
  bestRobustAccuracy: number;
  /** First epoch whose robust accuracy fell below half of the best before it, or null. */
  collapsedAtEpoch: number | null;
}

/** The guard's outcome in TrainResult and the model's metadata. */
export interface GuardReport extends GuardState {
  /** True when the run ended with the best epoch's weights instead of the last epoch's. */
  restored: boolean;
  /** Where the guard batch came from: hooks.eval, or the training data (as Wong et al. do). */
  source: 'eval' | 'train';
  count: number;
  steps: number;
}

/** Robustness has collapsed when PGD accuracy falls below this fraction of the best so far. */
export const COLLAPSE_FRACTION = 0.5;

/**
 * The catastrophic-overfitting guard's bookkeeping (Wong, Rice & Kolter 2020: FGSM training can suddenly lose
 * all PGD robustness within an epoch; they check PGD accuracy on a batch and keep the model from before the
 * drop). Keeps the weights of the epoch with the best robust accuracy (ties go to the later epoch, which has
 * trained longer) and flags a collapse when an epoch's accuracy is below half of the best.
 */
export class CollapseGuard {
  private current: GuardState;
  private best: Float32Array[] | null;

  constructor(state?: GuardState, bestWeights?: Float32Array[] | null) {
    this.current = state
      ? { ...state, robustAccuracy: [...state.robustAccuracy] }
      : { robustAccuracy: [], bestEpoch: -1, bestRobustAccuracy: -Infinity, collapsedAtEpoch: null };
    this.best = bestWeights ?? null;
  }

  /**
   * Records a finished epoch's robust accuracy; `snapshot` is called (and its weights kept) only when the
   * epoch is the new best. `collapsed` is true for every epoch below half of the best.
   */
  async endEpoch(
    epoch: number,
    robustAccuracy: number,
    snapshot: () => Promise<Float32Array[]>,
  ): Promise<{ best: boolean; collapsed: boolean }> {
    const s = this.current;
    const collapsed = s.bestEpoch >= 0 && robustAccuracy < COLLAPSE_FRACTION * s.bestRobustAccuracy;
    const best = robustAccuracy >= s.bestRobustAccuracy;
    this.current = {
      robustAccuracy: [...s.robustAccuracy, robustAccuracy],
      bestEpoch: best ? epoch : s.bestEpoch,
      bestRobustAccuracy: best ? robustAccuracy : s.bestRobustAccuracy,
      collapsedAtEpoch: s.collapsedAtEpoch ?? (collapsed ? epoch : null),
    };
    if (best) this.best = await snapshot();
    return { best, collapsed };
  }

  /** The weights to restore at the end of a completed run whose last epoch is `lastEpoch`, or null to keep them. */
  weightsToRestore(lastEpoch: number): Float32Array[] | null {
    return this.current.bestEpoch >= 0 && this.current.bestEpoch !== lastEpoch ? this.best : null;
  }

  state(): GuardState {
    return { ...this.current, robustAccuracy: [...this.current.robustAccuracy] };
  }

  bestWeights(): Float32Array[] | null {
    return this.best;
  }
}

/** The fixed guard batch: a seeded random choice of `batchSize` images (all of them when there are fewer). */
export function guardBatch(data: ImageDataset, batchSize: number, seed: number): ImageDataset {
  const order = new Rng(seed).permutation(data.count);
  return take(data, order.subarray(0, Math.min(batchSize, data.count)));
}

/**
 * PGD accuracy on the guard batch at the full eps: `steps` steps of 2.5 * eps / steps from a random start, one
 * restart, through runAttack (which projects and scores). Seeded, so that every epoch sees the same attack.
 */
export async function guardRobustAccuracy(
  classifier: Classifier,
  batch: ImageDataset,
  opts: { eps: number; norm: AdversarialNorm; guard: ResolvedGuardOptions; seed: number },
): Promise<number> {
  const { x, y } = toTensors(batch);
  try {
    const run = await runAttack(classifier, pgd, {
      x,
      labels: y,
      eps: opts.eps,
      norm: opts.norm,
      params: { steps: opts.guard.steps, relStepSize: 2.5 / opts.guard.steps },
      seed: opts.seed,
      batchSize: opts.guard.batchSize,
      keepAdversarial: false,
    });
    const accuracy = run.results[0].accuracy;
    run.dispose();
    return accuracy;
  } finally {
    x.dispose();
    y.dispose();
  }
}

/** Checkpoint name of the guard's best weights. */
export const GUARD_BEST_WEIGHTS = 'guardBestWeights';

/**
 * The guard of one FGSM-RS run: evaluates the guard batch after each epoch, keeps the best weights, and at the
 * end of a completed run puts them back into `weights` (every model variable, batch-norm statistics too).
 */
export class EpochGuard {
  private tracker = new CollapseGuard();
  private readonly batch: ImageDataset;

  constructor(
    private readonly classifier: Classifier,
    private readonly weights: tf.Variable[],
    private readonly opts: {
      guard: ResolvedGuardOptions;
      eps: number;
      norm: AdversarialNorm;
      seed: number;
      /** hooks.eval when given, else the training data. */
      source: ImageDataset;
      sourceName: 'eval' | 'train';
    },
  ) {
    this.batch = guardBatch(opts.source, opts.guard.batchSize, opts.seed);
  }

  /** The guard of a run's options, or null when the method has none or it is turned off. */
  static of(
    adv: ResolvedAdversarialOptions | undefined,
    classifier: Classifier,
    weights: tf.Variable[],
    setup: { seed: number; train: ImageDataset; eval?: ImageDataset },
  ): EpochGuard | null {
    if (adv?.method !== 'fgsm-rs' || adv.guard === false) return null;
    return new EpochGuard(classifier, weights, {
      guard: adv.guard,
      eps: adv.eps,
      norm: adv.norm,
      seed: setup.seed,
      source: setup.eval ?? setup.train,
      sourceName: setup.eval !== undefined ? 'eval' : 'train',
    });
  }

  /** Continues from a checkpoint's state and best weights. */
  restore(state: GuardState, bestWeights: Float32Array[] | undefined): void {
    this.tracker = new CollapseGuard(state, bestWeights);
  }

  /** PGD accuracy on the guard batch after `epoch`, and whether robustness has collapsed. */
  async endEpoch(epoch: number): Promise<{ robustAccuracy: number; collapsed: boolean }> {
    const robustAccuracy = await guardRobustAccuracy(this.classifier, this.batch, {
      ...this.opts,
      seed: this.opts.seed,
    });
    const { collapsed } = await this.tracker.endEpoch(epoch, robustAccuracy, () => readWeights(this.weights));
    return { robustAccuracy, collapsed };
  }

  /** What a checkpoint keeps: the bookkeeping and the best weights. */
  checkpoint(): { state: GuardState; extra: Record<string, Float32Array[]> } {
    const best = this.tracker.bestWeights();
    return { state: this.tracker.state(), extra: best !== null ? { [GUARD_BEST_WEIGHTS]: best } : {} };
  }

  /** At the end of a run: restores the best weights when the run completed and its last epoch was not the best. */
  finish(completed: boolean, lastEpoch: number | undefined): GuardReport {
    const restore = completed && lastEpoch !== undefined ? this.tracker.weightsToRestore(lastEpoch) : null;
    if (restore !== null) writeWeights(this.weights, restore);
    return {
      ...this.tracker.state(),
      restored: restore !== null,
      source: this.opts.sourceName,
      count: this.batch.count,
      steps: this.opts.guard.steps,
    };
  }
}
