import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../backend/node-backend.js';
import { createClassifier } from '../../models/create-classifier.js';
import { allModelVariables, readWeights } from '../model-weights.js';
import { blobDataset } from '../test-utils/fixtures.js';
import { CollapseGuard, EpochGuard, guardBatch } from './guard.js';
import { resolveAdversarialOptions } from './options.js';

beforeAll(async () => {
  await initNodeBackend({ backend: 'cpu' });
});

/** Fake weights for epoch e: one array filled with e. */
const weightsOf = (epoch: number) => async (): Promise<Float32Array[]> => [new Float32Array(3).fill(epoch)];

describe('CollapseGuard', () => {
  it('keeps the best epoch, reports the collapse and restores the best weights at the end', async () => {
    const guard = new CollapseGuard();
    const accuracies = [0.2, 0.45, 0.5, 0.3, 0.2, 0.24];
    const events = [];
    for (const [epoch, acc] of accuracies.entries())
      events.push(await guard.endEpoch(epoch, acc, weightsOf(epoch)));
    expect(events).toEqual([
      { best: true, collapsed: false },
      { best: true, collapsed: false },
      { best: true, collapsed: false },
      { best: false, collapsed: false }, // 0.3 is not below half of 0.5
      { best: false, collapsed: true }, // 0.2 < 0.25
      { best: false, collapsed: true },
    ]);
    expect(guard.state()).toEqual({
      robustAccuracy: accuracies,
      bestEpoch: 2,
      bestRobustAccuracy: 0.5,
      collapsedAtEpoch: 4,
    });
    expect(Array.from(guard.weightsToRestore(5)?.[0] ?? [])).toEqual([2, 2, 2]);
  });

  it('keeps the last weights when the last epoch is the best (ties go to the later epoch)', async () => {
    const guard = new CollapseGuard();
    await guard.endEpoch(0, 0.4, weightsOf(0));
    await guard.endEpoch(1, 0.4, weightsOf(1));
    expect(guard.state().bestEpoch).toBe(1);
    expect(guard.weightsToRestore(1)).toBeNull();
    expect(new CollapseGuard().weightsToRestore(0)).toBeNull();
  });

  it('continues from a saved state and best weights (resume)', async () => {
    const first = new CollapseGuard();
    await first.endEpoch(0, 0.6, weightsOf(0));
    await first.endEpoch(1, 0.5, weightsOf(1));
    const resumed = new CollapseGuard(first.state(), first.bestWeights());
    expect(await resumed.endEpoch(2, 0.1, weightsOf(2))).toEqual({ best: false, collapsed: true });
    expect(resumed.state()).toMatchObject({
      bestEpoch: 0,
      collapsedAtEpoch: 2,
      robustAccuracy: [0.6, 0.5, 0.1],
    });
    expect(Array.from(resumed.weightsToRestore(2)?.[0] ?? [])).toEqual([0, 0, 0]);
    expect(first.state().robustAccuracy).toEqual([0.6, 0.5]); // not shared
  });
});

describe('guardBatch', () => {
  it('is a fixed seeded sample, the whole set when it is smaller', () => {
    const data = blobDataset({ count: 30 });
    const a = guardBatch(data, 8, 3);
    expect(a.count).toBe(8);
    expect(Array.from(guardBatch(data, 8, 3).labels)).toEqual(Array.from(a.labels));
    expect(Array.from(a.pixels)).not.toEqual(Array.from(guardBatch(data, 8, 4).pixels));
    expect(guardBatch(data, 100, 3).count).toBe(30);
  });
});

describe('EpochGuard', () => {
  it('puts the best epoch back into the model at the end of a completed run, not of a stopped one', async () => {
    const classifier = createClassifier('mlp', {
      inputShape: [8, 8, 1],
      numClasses: 4,
      seed: 1,
      hiddenSizes: [4],
    });
    const weights = allModelVariables(classifier);
    const data = blobDataset({ count: 20 });
    const adv = resolveAdversarialOptions({ method: 'fgsm-rs', eps: 0.1, guard: { batchSize: 8, steps: 2 } });
    const guard = EpochGuard.of(adv, classifier, weights, { seed: 0, train: data });
    expect(
      EpochGuard.of(resolveAdversarialOptions({ method: 'pgd', eps: 0.1 }), classifier, weights, {
        seed: 0,
        train: data,
      }),
    ).toBeNull();
    if (guard === null) throw new Error('expected a guard');
    const best = await readWeights(weights);
    // A saved state whose best epoch (0) collapsed later; the model now holds other weights.
    guard.restore(
      { robustAccuracy: [0.6, 0.2], bestEpoch: 0, bestRobustAccuracy: 0.6, collapsedAtEpoch: 1 },
      best,
    );
    weights.forEach((w) => tf.tidy(() => w.assign(tf.add(w, 1))));
    const { robustAccuracy } = await guard.endEpoch(2);
    expect(robustAccuracy).toBeGreaterThanOrEqual(0);
    expect(guard.finish(false, 2).restored).toBe(false);
    expect((await readWeights(weights))[0][0]).toBeCloseTo(best[0][0] + 1, 5);
    const report = guard.finish(true, 2);
    expect(report).toMatchObject({
      restored: true,
      bestEpoch: 0,
      collapsedAtEpoch: 1,
      source: 'train',
      count: 8,
      steps: 2,
    });
    expect(report.robustAccuracy).toEqual([0.6, 0.2, robustAccuracy]);
    const after = await readWeights(weights);
    after.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(best[i])));
    expect(Object.keys(guard.checkpoint().extra)).toEqual(['guardBestWeights']);
    classifier.dispose();
  });
});
