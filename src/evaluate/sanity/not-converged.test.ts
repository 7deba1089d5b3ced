import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fgsm } from '../../attacks/fgsm.js';
import { pgd } from '../../attacks/pgd.js';
import { runAttack } from '../../attacks/run-attack.js';
import { loadMnistFixture, type MnistFixture } from '../../attacks/test-utils/mnist-fixture.js';
import type { Classifier } from '../../models/classifier.js';
import { loadClassifier } from '../../models/node/load-classifier.js';
import { bundledModelDir } from '../../models/node/package-root.js';
import { checkNotConverged } from './not-converged.js';
import { gatherRows } from '../../util/rows.js';

describe('checkNotConverged', () => {
  let mnist: MnistFixture;
  let robust: Classifier;
  beforeAll(async () => {
    mnist = await loadMnistFixture(32);
    robust = await loadClassifier(bundledModelDir('mnist-cnn-robust'));
  });
  afterAll(() => {
    robust.dispose();
    mnist.dispose();
  });

  /** The points `attack` left robust, and a stronger PGD's verdict on (up to `cap` of) them. */
  async function afterSuite(
    classifier: Classifier,
    suite: { attack: typeof pgd | typeof fgsm; params: Record<string, unknown> },
    eps: number,
    points: number,
    cap: number,
    budget: { steps: number; restarts: number },
  ) {
    const x0 = tf.slice(mnist.x, 0, points);
    const run = await runAttack(classifier, suite.attack, {
      x: x0,
      labels: mnist.labels.subarray(0, points),
      eps,
      params: suite.params,
      keepAdversarial: false,
    });
    x0.dispose();
    const still = Int32Array.from(
      Array.from(run.results[0].predictions).flatMap((p, i) => (p === mnist.labels[i] ? [i] : [])),
    );
    const rows = still.slice(0, cap);
    const x = gatherRows(mnist.x, rows);
    const before = tf.memory().numTensors;
    const flag = await checkNotConverged({
      classifier,
      x,
      labels: Int32Array.from(rows, (i) => mnist.labels[i]),
      norm: 'linf',
      seed: 0,
      eps,
      robustPoints: still.length,
      n: points,
      budget,
    });
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    return { flag, still: still.length };
  }

  it('fires when a one-step attack left points that PGD breaks', async () => {
    const { flag, still } = await afterSuite(mnist.classifier, { attack: fgsm, params: {} }, 0.1, 32, 16, {
      steps: 20,
      restarts: 1,
    });
    expect(flag).toMatchObject({ id: 'not-converged', severity: 'warning' });
    expect(flag?.detail).toMatch(
      new RegExp(
        `^At eps 0.1, PGD with 20 steps and 1 restart broke \\d+ of ${Math.min(16, still)} points sampled from the ${still}`,
      ),
    );
  });

  it('stays silent when PGD-20 on the robust model has converged', async () => {
    const { flag } = await afterSuite(robust, { attack: pgd, params: { steps: 20 } }, 0.3, 16, 16, {
      steps: 60,
      restarts: 1,
    });
    expect(flag).toBeNull();
  });
});
