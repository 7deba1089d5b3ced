import type * as tf from '@tensorflow/tfjs-core';
import { throwIfAborted } from '../../attacks/attack-context.js';
import type { Norm } from '../../attacks/types.js';
import { invalidArgument } from '../../errors.js';
import type { Model } from '../../models/model.js';
import { Rng } from '../../util/rng.js';
import { gatherRows } from '../../util/rows.js';
import type { AttackStepRecord, SanityCheckId, SanityFlag } from '../report-types.js';
import { checkBlackBoxBeatsWhiteBox, type SuiteAttackKind } from './black-box-beats-white-box.js';
import { checkLargeEps } from './large-eps-not-zero.js';
import { checkMaskedGradients } from './masked-gradients.js';
import { sampleIndices, sampleValues, type ModelSample } from './model-sample.js';
import { checkNonMonotoneEps } from './non-monotone-eps.js';
import { checkNotConverged, DEFAULT_CONVERGENCE_BUDGET, type ConvergenceBudget } from './not-converged.js';
import { checkProbabilityOutputs } from './probability-outputs.js';
import { checkRandomizedModel } from './randomized-model.js';

/** The parts of an evaluation the checks read; evaluateRobustness' RobustnessEvaluation has them all. */
export interface SanityEvaluation {
  norm: Norm;
  /** The suite's attacks, in run order, with whether each is black-box. */
  suite: { entries: readonly SuiteAttackKind[] };
  /** Clean predictions of the evaluated points. */
  cleanPredictions: Int32Array;
  /** One entry per eps. */
  perEps: readonly {
    eps: number;
    /** 1 where the point is still robust after the whole suite. */
    robust: Uint8Array;
    robustAccuracy: number;
    /** Per attack, in suite order. */
    steps: readonly AttackStepRecord[];
  }[];
}

/** Caps that bound the checks' cost (defaults in DEFAULT_SANITY_LIMITS). */
export interface SanityLimits {
  /** Points the model probes (probability outputs, gradients, two passes) look at. */
  probePoints: number;
  /** Correctly classified points attacked at the box-wide budget. */
  largeEpsPoints: number;
  /** Still-robust points re-attacked by the convergence check. */
  convergencePoints: number;
  /** The convergence check's PGD. */
  convergence: ConvergenceBudget;
}

/**
 * 64 probe points (three forward passes and one gradient each), 32 points at the box-wide budget (<= 100
 * gradients each), 32 still-robust points re-attacked with 200 steps x 2 restarts (<= 400 gradients each): at
 * most about 16,000 gradient evaluations in all, whatever the size of the evaluation. Measured on the bundled
 * robust MNIST CNN (100 points, wasm): 23 s of CPU time, nearly all of it the convergence check; a sound model
 * stops far sooner at the box-wide budget.
 */
export const DEFAULT_SANITY_LIMITS: SanityLimits = {
  probePoints: 64,
  largeEpsPoints: 32,
  convergencePoints: 32,
  convergence: DEFAULT_CONVERGENCE_BUDGET,
};

export interface SanityCheckOptions {
  classifier: Model;
  /** The evaluated points [n, h, w, c] (the caller keeps ownership); `evaluation` indexes them. */
  x: tf.Tensor4D;
  labels: ArrayLike<number>;
  evaluation: SanityEvaluation;
  /** Whether the evaluation averaged gradients over the model's randomness (EOT). */
  eot: boolean;
  /**
   * Passes per gradient of the checks that attack (large eps, convergence) on a randomized model: the
   * evaluation's EOT, capped at MAX_CHECK_EOT to bound their cost (default 1). Without it, those checks attack a
   * random model with single draws and flag it for their own weakness.
   */
  eotPasses?: number;
  /** Seed of the samples and attacks (default 0). */
  seed?: number;
  /** Examples per pass (default 64). */
  batchSize?: number;
  limits?: Partial<SanityLimits>;
  signal?: AbortSignal;
  onProgress?: (progress: SanityProgress) => void;
}

export interface SanityProgress {
  /** The check running. */
  check: SanityCheckId;
  /** Checks finished, out of `total`. */
  done: number;
  total: number;
  /** Overall fraction 0..1, including the progress inside an attack check. */
  fraction: number;
}

const DEFAULT_BATCH = 64;

/** The most EOT passes the attack checks take: at 8 they break a random defense's points at the box-wide budget. */
export const MAX_CHECK_EOT = 8;

/**
 * Runs every sanity check on an evaluation (Carlini et al. 2019, "On Evaluating Adversarial Robustness";
 * AutoAttack's checks, Croce & Hein 2020) and returns the flags raised, in SanityCheckId order: none means no
 * check found a sign that the evaluation overstates robustness. The checks that probe the model or attack it
 * run on seeded samples capped by `limits`, so the cost does not grow with the evaluation (see
 * DEFAULT_SANITY_LIMITS). Every tensor made here is disposed.
 */
export async function runSanityChecks(options: SanityCheckOptions): Promise<SanityFlag[]> {
  const { classifier, x, evaluation, signal } = options;
  const labels = validate(options);
  const limits = { ...DEFAULT_SANITY_LIMITS, ...options.limits };
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const n = x.shape[0];
  const norm = evaluation.norm;
  const rng = new Rng(options.seed ?? 0);
  const eot = Math.min(MAX_CHECK_EOT, Math.max(1, Math.floor(options.eotPasses ?? 1)));
  // Drawn up front, so that each check's sample and attack seed are the same whatever the others do.
  const [probeSeed, largeEpsSeed, convergenceSeed] = [rng.fork(), rng.fork(), rng.fork()];
  const robust = evaluation.perEps.map((e) => ({
    eps: e.eps,
    autoattack_acc: e.robustAccuracy,
    by_attack: e.steps,
  }));

  /** Runs `check` on the points `rows` of x (null when there are none). */
  async function onRows(
    rows: Int32Array,
    check: (xs: tf.Tensor4D, ys: Int32Array) => Promise<SanityFlag | null>,
  ): Promise<SanityFlag | null> {
    if (rows.length === 0) return null;
    const xs = gatherRows(x, rows);
    try {
      return await check(
        xs,
        Int32Array.from(rows, (i) => labels[i]),
      );
    } finally {
      xs.dispose();
    }
  }
  const probeRows = sampleIndices(n, limits.probePoints, probeSeed.nextUint32());
  const probe = (check: (sample: ModelSample) => Promise<SanityFlag | null>) => () =>
    onRows(probeRows, (xs, ys) => check({ classifier, x: xs, labels: ys, batchSize, signal }));

  const checks: [SanityCheckId, (progress: (fraction: number) => void) => Promise<SanityFlag | null>][] = [
    ['probability-outputs', probe(checkProbabilityOutputs)],
    ['masked-gradients', probe(checkMaskedGradients)],
    ['randomized-model', probe((sample) => checkRandomizedModel(sample, { eot: options.eot }))],
    ['non-monotone-eps', async () => checkNonMonotoneEps(robust, n)],
    [
      'large-eps-not-zero',
      (progress) => {
        const correct = indicesWhere(n, (i) => evaluation.cleanPredictions[i] === labels[i]);
        const rows = sampleValues(correct, limits.largeEpsPoints, largeEpsSeed.nextUint32());
        const seed = largeEpsSeed.nextUint32();
        return onRows(rows, (xs, ys) =>
          checkLargeEps({
            classifier,
            x: xs,
            labels: ys,
            norm,
            seed,
            eot,
            batchSize,
            signal,
            onProgress: progress,
          }),
        );
      },
    ],
    ['black-box-beats-white-box', async () => checkBlackBoxBeatsWhiteBox(robust, evaluation.suite.entries)],
    [
      'not-converged',
      (progress) => {
        // The largest eps with points still robust: where an unconverged attack has the most left to find.
        const point = [...evaluation.perEps].sort((a, b) => b.eps - a.eps).find((e) => e.robust.includes(1));
        if (point === undefined) return Promise.resolve(null);
        const still = indicesWhere(n, (i) => point.robust[i] === 1);
        const rows = sampleValues(still, limits.convergencePoints, convergenceSeed.nextUint32());
        const seed = convergenceSeed.nextUint32();
        return onRows(rows, (xs, ys) =>
          checkNotConverged({
            classifier,
            x: xs,
            labels: ys,
            norm,
            seed,
            eot,
            batchSize,
            signal,
            onProgress: progress,
            eps: point.eps,
            robustPoints: still.length,
            n,
            budget: limits.convergence,
          }),
        );
      },
    ],
  ];

  const flags: SanityFlag[] = [];
  const total = checks.length;
  for (const [done, [check, run]] of checks.entries()) {
    throwIfAborted(signal);
    const report = (inner: number): void =>
      options.onProgress?.({ check, done, total, fraction: (done + inner) / total });
    report(0);
    const flag = await run(report);
    if (flag !== null) flags.push(flag);
  }
  options.onProgress?.({ check: checks[total - 1][0], done: total, total, fraction: 1 });
  return flags;
}

function indicesWhere(n: number, keep: (i: number) => boolean): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (keep(i)) out.push(i);
  return Int32Array.from(out);
}

/** Checks that labels and the evaluation describe the points of x; returns the labels as Int32Array. */
function validate(options: SanityCheckOptions): Int32Array {
  const { x, evaluation, classifier } = options;
  const n = x.shape[0];
  const [h, w, c] = classifier.inputShape;
  if (x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c || n === 0) {
    throw invalidArgument(
      `x must have shape [n >= 1, ${h}, ${w}, ${c}] for this model, got [${x.shape.join(', ')}].`,
    );
  }
  const labels = Int32Array.from(options.labels);
  labels.forEach((y, i) => {
    if (!Number.isInteger(options.labels[i]) || y < 0 || y >= classifier.numClasses) {
      throw invalidArgument(
        `labels[${i}] is ${options.labels[i]}; classes go from 0 to ${classifier.numClasses - 1}.`,
      );
    }
  });
  const sizes: [string, number][] = [
    ['labels', labels.length],
    ['evaluation.cleanPredictions', evaluation.cleanPredictions.length],
    ...evaluation.perEps.map((e, i): [string, number] => [`evaluation.perEps[${i}].robust`, e.robust.length]),
  ];
  for (const [what, size] of sizes) {
    if (size !== n) throw invalidArgument(`${what} has ${size} entries for the ${n} points of x.`);
  }
  const size = options.batchSize ?? DEFAULT_BATCH;
  if (!Number.isInteger(size) || size < 1)
    throw invalidArgument(`batchSize must be an integer >= 1, got ${size}.`);
  return labels;
}
