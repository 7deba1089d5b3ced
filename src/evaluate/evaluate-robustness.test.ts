import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAttack } from '../attacks/run-attack.js';
import { pgd } from '../attacks/pgd.js';
import { loadMnistFixture, type MnistFixture } from '../attacks/test-utils/mnist-fixture.js';
import { AdvkitError } from '../errors.js';
import { evaluateRobustness, type EvaluateOptions } from './evaluate-robustness.js';
import { MemoryStateStore, type EvaluationState } from './evaluation-state.js';

const FAST = ['pgd'];

describe('evaluateRobustness', () => {
  let f: MnistFixture;
  beforeAll(async () => {
    f = await loadMnistFixture(12);
  });
  afterAll(() => f.dispose());

  const options = (extra: Partial<EvaluateOptions> = {}): EvaluateOptions => ({
    x: f.x,
    labels: f.labels,
    norm: 'linf',
    eps: [0.15, 0.05],
    suite: FAST,
    seed: 3,
    batchSize: 4,
    chunkSize: 4,
    galleryCount: 3,
    ...extra,
  });

  it('gives the per-example worst case, per eps, equal to the attack run alone', async () => {
    const before = tf.memory().numTensors;
    const result = await evaluateRobustness(f.classifier, options());
    expect(tf.memory().numTensors).toBe(before);
    expect(result.perEps.map((r) => r.eps)).toEqual([0.05, 0.15]);
    expect(result.cleanAccuracy).toBe(1);
    for (const r of result.perEps) {
      expect(r.steps).toHaveLength(1);
      expect(r.steps[0].accuracy_after).toBe(r.robustAccuracy);
      expect(r.steps[0].attacked).toBe(12);
      expect(r.steps[0].gradients_per_point).toBeGreaterThan(0);
      for (let i = 0; i < 12; i++) expect(r.brokenBy[i]).toBe(r.robust[i] ? -1 : 0);
    }
    expect(result.perEps[1].robustAccuracy).toBeLessThan(result.perEps[0].robustAccuracy);
    // The same attack through runAttack on the whole set breaks at least as many points per eps: the
    // protocol must not weaken it (its chunks use other seeds, so only the totals are compared loosely).
    const alone = await runAttack(f.classifier, pgd, { x: f.x, labels: f.labels, eps: 0.15, seed: 3 });
    expect(Math.abs(alone.results[0].accuracy - result.perEps[1].robustAccuracy)).toBeLessThanOrEqual(2 / 12);
    alone.dispose();
    expect(result.gallery.map((g) => [g.eps, g.index])).toEqual([
      [0.05, 0],
      [0.05, 1],
      [0.05, 2],
      [0.15, 0],
      [0.15, 1],
      [0.15, 2],
    ]);
    expect(result.gallery[0].adversarial).toHaveLength(28 * 28);
  });

  it('runs later attacks only on the points earlier ones left robust', async () => {
    const result = await evaluateRobustness(f.classifier, options({ suite: ['pgd', 'apgd-ce'], eps: 0.15 }));
    const [first, second] = result.perEps[0].steps;
    expect(second.attacked).toBe(Math.round(first.accuracy_after * 12));
    expect(second.accuracy_after).toBeLessThanOrEqual(first.accuracy_after);
    expect(result.perEps[0].robustAccuracy).toBe(second.accuracy_after);
  });

  it('resumes a killed run from its state and ends with the uninterrupted result', async () => {
    const whole = await evaluateRobustness(f.classifier, options());
    const store = new MemoryStateStore();
    const controller = new AbortController();
    const save = store.save.bind(store);
    store.save = async (state: EvaluationState) => {
      await save(state);
      if (store.saves === 3) controller.abort();
    };
    await expect(
      evaluateRobustness(f.classifier, options({ state: store, signal: controller.signal })),
    ).rejects.toMatchObject({
      code: 'ABORTED',
    });
    expect(store.saved?.chunks).toHaveLength(3);
    const resumed = await evaluateRobustness(f.classifier, options({ state: new StoreFrom(store) }));
    expect(resumed.resumedChunks).toBe(3);
    expect(resumed.perEps.map((r) => Array.from(r.robust))).toEqual(
      whole.perEps.map((r) => Array.from(r.robust)),
    );
    expect(resumed.perEps.map((r) => r.steps)).toEqual(
      whole.perEps.map((r) => r.steps).map((s) => s.map((x) => ({ ...x, seconds: expect.any(Number) }))),
    );
    expect(resumed.gallery.map((g) => Array.from(g.adversarial))).toEqual(
      whole.gallery.map((g) => Array.from(g.adversarial)),
    );
  });

  it('refuses a state saved by a different evaluation', async () => {
    const store = new MemoryStateStore();
    const controller = new AbortController();
    const save = store.save.bind(store);
    store.save = async (state: EvaluationState) => {
      await save(state);
      controller.abort();
    };
    await expect(
      evaluateRobustness(f.classifier, options({ state: store, signal: controller.signal })),
    ).rejects.toThrow();
    await expect(evaluateRobustness(f.classifier, options({ state: store, seed: 4 }))).rejects.toThrow(
      /different evaluation/,
    );
  });

  it('averages each white-box gradient over eot passes: on a deterministic model the same result at eot x the cost', async () => {
    const plain = await evaluateRobustness(f.classifier, options({ eps: 0.15 }));
    const eot = await evaluateRobustness(f.classifier, options({ eps: 0.15, eot: 2 }));
    expect(eot.suite.entries[0].eot).toBe(2);
    expect(Array.from(eot.perEps[0].robust)).toEqual(Array.from(plain.perEps[0].robust));
    expect(eot.perEps[0].steps[0].gradients_per_point).toBe(2 * plain.perEps[0].steps[0].gradients_per_point);
  });

  it('rejects bad options with clear errors', async () => {
    const bad: [Partial<EvaluateOptions>, RegExp][] = [
      [{ eps: [] }, /at least one eps/],
      [{ eps: [0.1, -1] }, /positive/],
      [{ suite: 'strongest' }, /Unknown suite or attack 'strongest'.*standard, fast, pgd/],
      [{ suite: ['square'], norm: 'l1' }, /no l1 version/],
      [{ labels: [1, 2] }, /2 labels for 12 inputs/],
      [{ batchSize: 0 }, /batchSize/],
      [{ eot: 0 }, /eot \(passes averaged per gradient\) must be an integer >= 1/],
      [{ seed: 2 ** 53 + 2 }, /seed must be an integer from 0 to 9007199254740991, got 9007199254740994/],
    ];
    for (const [extra, message] of bad) {
      const err = await evaluateRobustness(f.classifier, options(extra)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AdvkitError);
      expect(String((err as Error).message)).toMatch(message);
    }
  });
});

/** A store that starts from another's saved state (a new process reading the file). */
class StoreFrom extends MemoryStateStore {
  constructor(from: MemoryStateStore) {
    super();
    this.saved = from.saved;
  }
}
