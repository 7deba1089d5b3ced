import { describe, expect, it } from 'vitest';
import type { AttackResult, AttackRun } from '../attacks/run-attack.js';
import { summarizeResult, summaryTable } from './attack-summary.js';

function fakeRun(): { run: AttackRun; result: AttackResult } {
  const result: AttackResult = {
    eps: 8 / 255,
    adversarial: null,
    success: Uint8Array.from([1, 1, 0, 1, 1]),
    predictions: Int32Array.from([5, 6, 2, 8, 9]),
    distances: {
      l0: Float32Array.from([10, 20, 30, 40, 0]),
      l1: Float32Array.from([1, 2, 3, 4, 0]),
      l2: Float32Array.from([0.5, 1.5, 2, 1, 0]),
      linf: Float32Array.from([0.01, 0.02, 0.03, 0.03, 0]),
    },
    successRate: 0.8,
    accuracy: 0.2,
    cost: { gradients: 50, queries: 60 },
    seconds: 1.5,
  };
  const run: AttackRun = {
    attack: 'pgd',
    norm: 'linf',
    params: {},
    seed: 0,
    labels: Int32Array.from([0, 1, 2, 3, 4]),
    targets: null,
    sameTargetCount: 0,
    notes: [],
    // The last example was misclassified to begin with: its "success" costs nothing and is not a distance.
    cleanPredictions: Int32Array.from([0, 1, 2, 3, 9]),
    cleanAccuracy: 0.8,
    results: [result],
    dispose: () => {},
  };
  return { run, result };
}

describe('attack summary', () => {
  it('reports rates, per-example cost and distances over the examples the attack fooled', () => {
    const { run, result } = fakeRun();
    const s = summarizeResult(run, result, [{ value: 8 / 255, text: '8/255' }]);
    expect(s).toMatchObject({
      eps: 8 / 255,
      epsText: '8/255',
      successRate: 0.8,
      robustAccuracy: 0.2,
      fooled: 3,
      gradientsPerExample: 10,
      queriesPerExample: 12,
      seconds: 1.5,
    });
    expect(s.distances.l2.mean).toBeCloseTo(1);
    expect(s.distances.l2.median).toBeCloseTo(1);
    expect(s.distances.linf.median).toBeCloseTo(0.02);
    expect(s.distances.l0).toEqual({ mean: expect.closeTo(70 / 3), median: 20 });
  });

  it('has no distances when nothing was fooled, and prints a table', () => {
    const { run, result } = fakeRun();
    const none = summarizeResult(run, { ...result, success: new Uint8Array(5) }, undefined);
    expect(none.distances.l2).toEqual({ mean: null, median: null });
    const table = summaryTable([summarizeResult(run, result, undefined), none], 'linf');
    const lines = table.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^eps +success +robust acc +median Linf +median L2 +fooled +grads\/ex +queries\/ex +seconds$/,
    );
    expect(lines[1]).toMatch(/^0\.03137 +80\.0% +20\.0% +0\.0200 +1\.00 +3 +10\.0 +12\.0 +1\.5$/);
    expect(lines[2]).toMatch(/ - +- +0 /);
  });
});
