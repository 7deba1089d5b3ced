import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgd } from '../../attacks/pgd.js';
import { runAttack } from '../../attacks/run-attack.js';
import { loadMnistFixture, type MnistFixture } from '../../attacks/test-utils/mnist-fixture.js';
import type { Classifier } from '../../models/classifier.js';
import { loadBrokenMnist } from '../test-utils/broken-models.js';
import { runSanityChecks, type SanityEvaluation, type SanityProgress } from './run-sanity-checks.js';

/** Small caps so that the whole run stays cheap in tests. */
const LIMITS = {
  probePoints: 16,
  largeEpsPoints: 8,
  convergencePoints: 8,
  convergence: { steps: 40, restarts: 1 },
};

/**
 * A one-attack 'suite' (PGD-20 with Madry et al.'s step 2.5 eps / steps) evaluated at each eps, in the shape
 * evaluateRobustness returns.
 */
async function pgdEvaluation(
  classifier: Classifier,
  x: tf.Tensor4D,
  labels: Int32Array,
  eps: number[],
): Promise<SanityEvaluation> {
  const run = await runAttack(classifier, pgd, {
    x,
    labels,
    eps,
    params: { steps: 20, relStepSize: 2.5 / 20 },
    keepAdversarial: false,
  });
  const n = labels.length;
  const correct = run.cleanPredictions.reduce((s, p, i) => s + Number(p === labels[i]), 0);
  return {
    norm: 'linf',
    suite: { entries: [{ name: 'pgd', blackBox: false }] },
    cleanPredictions: run.cleanPredictions,
    perEps: run.results.map((r, e) => {
      const robust = Uint8Array.from(r.predictions, (p, i) =>
        Number(p === labels[i] && run.cleanPredictions[i] === p),
      );
      const kept = robust.reduce((s, v) => s + v, 0);
      return {
        eps: eps[e],
        robust,
        robustAccuracy: kept / n,
        steps: [
          {
            name: 'pgd',
            accuracy_after: kept / n,
            newly_broken: correct - kept,
            attacked: correct,
            gradients_per_point: r.cost.gradients / n,
            queries_per_point: r.cost.queries / n,
            seconds: r.seconds,
          },
        ],
      };
    }),
  };
}

describe('runSanityChecks', () => {
  let mnist: MnistFixture;
  beforeAll(async () => {
    mnist = await loadMnistFixture(24);
  });
  afterAll(() => mnist.dispose());

  it('raises no flag on the bundled standard MNIST model, reports progress and releases every tensor', async () => {
    const evaluation = await pgdEvaluation(mnist.classifier, mnist.x, mnist.labels, [0.05, 0.1]);
    const progress: SanityProgress[] = [];
    const before = tf.memory().numTensors;
    const flags = await runSanityChecks({
      classifier: mnist.classifier,
      x: mnist.x,
      labels: mnist.labels,
      evaluation,
      eot: false,
      seed: 3,
      batchSize: 10,
      limits: LIMITS,
      onProgress: (p) => progress.push(p),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(flags).toEqual([]);
    expect(progress.map((p) => p.check).filter((c, i, all) => all.indexOf(c) === i)).toEqual([
      'probability-outputs',
      'masked-gradients',
      'randomized-model',
      'non-monotone-eps',
      'large-eps-not-zero',
      'black-box-beats-white-box',
      'not-converged',
    ]);
    expect(progress.every((p, i) => i === 0 || p.fraction >= progress[i - 1].fraction)).toBe(true);
    expect(progress.at(-1)).toMatchObject({ done: 7, total: 7, fraction: 1 });
  });

  it('flags the masked gradients of a quantizing model, and the attack that cannot break it', async () => {
    const quantized = await loadBrokenMnist('quantized');
    const evaluation = await pgdEvaluation(quantized, mnist.x, mnist.labels, [0.1]);
    const flags = await runSanityChecks({
      classifier: quantized,
      x: mnist.x,
      labels: mnist.labels,
      evaluation,
      eot: false,
      limits: LIMITS,
    });
    quantized.dispose();
    expect(flags.map((f) => f.id)).toEqual(
      expect.arrayContaining(['masked-gradients', 'large-eps-not-zero']),
    );
    expect(flags.map((f) => f.id)).not.toContain('probability-outputs');
  });

  it('rejects labels and evaluations that do not match x, and stops when cancelled', async () => {
    // Validation and cancellation come before any model work: a made-up evaluation will do.
    const evaluation: SanityEvaluation = {
      norm: 'linf',
      suite: { entries: [{ name: 'pgd', blackBox: false }] },
      cleanPredictions: mnist.labels,
      perEps: [{ eps: 0.1, robust: new Uint8Array(24), robustAccuracy: 0, steps: [] }],
    };
    const base = { classifier: mnist.classifier, x: mnist.x, labels: mnist.labels, evaluation, eot: false };
    await expect(runSanityChecks({ ...base, labels: mnist.labels.subarray(1) })).rejects.toThrow(
      'labels has 23 entries for the 24 points of x.',
    );
    await expect(runSanityChecks({ ...base, labels: mnist.labels.map(() => 10) })).rejects.toThrow(
      'labels[0] is 10; classes go from 0 to 9.',
    );
    const short = { ...evaluation, cleanPredictions: evaluation.cleanPredictions.subarray(2) };
    await expect(runSanityChecks({ ...base, evaluation: short })).rejects.toThrow(
      'evaluation.cleanPredictions has 22 entries',
    );
    const controller = new AbortController();
    controller.abort();
    await expect(runSanityChecks({ ...base, signal: controller.signal })).rejects.toMatchObject({
      code: 'ABORTED',
    });
  });
});
