import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../errors.js';
import type { Model } from '../models/model.js';
import type { Schema } from '../util/schema.js';
import { goalMet } from './attack-context.js';
import { mean, predictClasses } from './predict-classes.js';
import { runAttack, type AttackRun, type RunAttackOptions } from './run-attack.js';
import type { Attack, Cost } from './types.js';

export interface TransferAttackOptions<S extends Schema> extends Omit<RunAttackOptions, 'keepAdversarial'> {
  /** The model the attack sees (white-box access): the adversarial inputs are crafted on it. */
  surrogate: Model;
  /** The model under evaluation: it only classifies the surrogate's adversarial inputs. */
  target: Model;
  attack: Attack<S>;
}

/** The outcome at one budget. */
export interface TransferResult {
  eps: number | null;
  /** Goal met on the surrogate (the attack's own success). */
  surrogateSuccess: Uint8Array;
  /** Goal met on the target model. */
  targetSuccess: Uint8Array;
  targetPredictions: Int32Array;
  surrogateSuccessRate: number;
  /** Goal met on the target, over all examples. */
  targetSuccessRate: number;
  /** Examples the target classified correctly when clean and the attack fooled the surrogate on. */
  eligible: number;
  /** Of those, how many also fool the target. */
  transferred: number;
  /** transferred / eligible (0 when none is eligible). */
  transferRate: number;
  /** Target accuracy on the adversarial inputs (its clean accuracy is on the report). */
  targetAccuracy: number;
  surrogateAccuracy: number;
  /** Spent on the surrogate (per example: divide by n); the target costs one query per example. */
  cost: Cost;
}

/** The run's settings as in AttackRun; targeted goals are resolved on the surrogate. */
export interface TransferReport extends Pick<
  AttackRun,
  'attack' | 'norm' | 'params' | 'seed' | 'labels' | 'targets'
> {
  surrogateCleanAccuracy: number;
  targetCleanAccuracy: number;
  targetCleanPredictions: Int32Array;
  results: TransferResult[];
}

const DEFAULT_BATCH_SIZE = 128;

/**
 * Transfer attack (Papernot, McDaniel & Goodfellow 2016, "Transferability in Machine Learning: from Phenomena to
 * Black-Box Attacks using Adversarial Samples"; Liu, Chen, Liu & Song 2017, "Delving into Transferable
 * Adversarial Examples and Black-box Attacks"): craft adversarial inputs on a surrogate with `runAttack`, then
 * classify them with the target model. Per eps it reports the surrogate's success, the target's success on all
 * examples, the transfer rate (among examples the target got right and the attack fooled the surrogate on, the
 * fraction that fool the target too) and the target's accuracy before and after. Targeted goals are resolved
 * on the surrogate ('least-likely' is the surrogate's least likely class) and judged on the target with the
 * same per-example targets. Iterative attacks run all their steps unless `params.earlyStop` says otherwise (an
 * example that barely fools the surrogate seldom fools the target). Returns no tensors: everything it makes is disposed.
 *
 * @example transferAttack({ surrogate: mlp, target: cnn, attack: mifgsm, x, labels, eps: [0.1, 0.2, 0.3] })
 */
export async function transferAttack<S extends Schema>(
  options: TransferAttackOptions<S>,
): Promise<TransferReport> {
  const { surrogate, target, attack, ...runOptions } = options;
  checkCompatible(surrogate, target);
  const run = await runAttack(surrogate, attack, {
    ...runOptions,
    params: withoutEarlyStop(attack, options.params),
    keepAdversarial: true,
  });
  try {
    return await scoreTransfer(run, target, options.x, {
      batchSize: options.batchSize,
      signal: options.signal,
    });
  } finally {
    run.dispose();
  }
}

/**
 * The transfer part on its own: classifies a surrogate run's adversarial inputs (it must have kept them) and the
 * clean inputs `x` with the target model and reports per eps as transferAttack does. The run stays the caller's.
 */
export async function scoreTransfer(
  run: AttackRun,
  target: Model,
  x: tf.Tensor4D,
  options: { batchSize?: number; signal?: AbortSignal } = {},
): Promise<TransferReport> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const labels = run.labels;
  const targetCleanPredictions = await predictClasses(target, x, { batchSize, signal: options.signal });
  const targetCorrect = targetCleanPredictions.map((p, i) => Number(p === labels[i]));
  const rows = Int32Array.from({ length: labels.length }, (_, i) => i);
  const results: TransferResult[] = [];
  for (const r of run.results) {
    if (r.adversarial === null) throw invalidArgument('The surrogate run kept no adversarial inputs.');
    const targetPredictions = await predictClasses(target, r.adversarial, {
      batchSize,
      signal: options.signal,
    });
    const targetSuccess = goalMet(targetPredictions, rows, labels, run.targets);
    let eligible = 0;
    let transferred = 0;
    for (let i = 0; i < labels.length; i++) {
      if (targetCorrect[i] === 1 && r.success[i] === 1) {
        eligible++;
        transferred += targetSuccess[i];
      }
    }
    results.push({
      eps: r.eps,
      surrogateSuccess: r.success,
      targetSuccess,
      targetPredictions,
      surrogateSuccessRate: r.successRate,
      targetSuccessRate: mean(targetSuccess),
      eligible,
      transferred,
      transferRate: eligible === 0 ? 0 : transferred / eligible,
      targetAccuracy: mean(targetPredictions.map((p, i) => Number(p === labels[i]))),
      surrogateAccuracy: r.accuracy,
      cost: r.cost,
    });
  }
  return {
    attack: run.attack,
    norm: run.norm,
    params: run.params,
    seed: run.seed,
    labels,
    targets: run.targets,
    surrogateCleanAccuracy: run.cleanAccuracy,
    targetCleanAccuracy: mean(targetCorrect),
    targetCleanPredictions,
    results,
  };
}

/**
 * Early stop (on by default for evaluation) keeps the first iterate that crosses the surrogate's decision
 * boundary: such barely-adversarial inputs rarely fool another model. Unless the caller chose, attacks that
 * have the option run every step (Dong et al. 2018 report transfer rates for full-length runs).
 */
export function withoutEarlyStop<S extends Schema>(
  attack: Attack<S>,
  params: Readonly<Record<string, unknown>> | undefined,
): Readonly<Record<string, unknown>> | undefined {
  if (!Object.hasOwn(attack.schema, 'earlyStop') || params?.earlyStop !== undefined) return params;
  return { ...params, earlyStop: false };
}

/** The target must take the surrogate's inputs and use its classes. */
export function checkCompatible(surrogate: Model, target: Model): void {
  const same = (a: readonly number[], b: readonly number[]): boolean =>
    a.length === b.length && a.every((v, i) => v === b[i]);
  if (!same(surrogate.inputShape, target.inputShape)) {
    throw invalidArgument(
      `The surrogate takes inputs [${surrogate.inputShape}] but the target takes [${target.inputShape}]; transfer needs the same input shape.`,
    );
  }
  if (surrogate.numClasses !== target.numClasses) {
    throw invalidArgument(
      `The surrogate has ${surrogate.numClasses} classes but the target has ${target.numClasses}; transfer needs the same classes.`,
    );
  }
  if (!same(surrogate.bounds, target.bounds)) {
    throw invalidArgument(
      `The surrogate's bounds [${surrogate.bounds}] differ from the target's [${target.bounds}]; transfer needs the same pixel range.`,
    );
  }
}
