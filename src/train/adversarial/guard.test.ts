import { describe, expect, it } from 'vitest';
import { blobDataset } from '../test-utils/fixtures.js';
import { CollapseGuard, guardBatch } from './guard.js';

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
