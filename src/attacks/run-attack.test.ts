import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdvkitError } from '../errors.js';
import { field } from '../util/schema.js';
import { pgd } from './pgd.js';
import { runAttack, type AttackProgress } from './run-attack.js';
import { loadMnistFixture, type MnistFixture } from './test-utils/mnist-fixture.js';
import { defineAttack } from './types.js';

/** An untrustworthy "attack" (one query) that pushes far outside the ball and the bounds: the runner must fix it. */
const wild = defineAttack({
  name: 'wild',
  title: 'test attack',
  norms: ['linf', 'l2', 'l1'],
  budget: 'minimal',
  targeted: true,
  schema: { push: field.number({ default: 5, description: 'how far' }) },
  run: async (ctx, p) => {
    await ctx.yieldStep(1, 1);
    ctx.logits(ctx.x).dispose();
    return tf.tidy((): tf.Tensor4D => tf.add(ctx.x, tf.mul(tf.sign(tf.sub(0.5, ctx.x)), p.push)));
  },
});

let f: MnistFixture;
beforeAll(async () => {
  f = await loadMnistFixture(12);
});
afterAll(() => f.dispose());

/** x with its first `count` values replaced by NaN. */
function withNaN(x: tf.Tensor4D, count: number): tf.Tensor4D {
  const values = Float32Array.from(x.dataSync());
  values.fill(NaN, 0, count);
  return tf.tensor4d(values, x.shape);
}

async function caught(p: Promise<unknown>): Promise<AdvkitError> {
  const err = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AdvkitError);
  return err as AdvkitError;
}

describe('runAttack', () => {
  it('projects an untrusted result onto each eps-ball and the bounds, one result per eps', async () => {
    const before = tf.memory().numTensors;
    const eps = [0, 0.1, 0.3];
    const run = await runAttack(f.classifier, wild, { x: f.x, labels: f.labels, eps, batchSize: 5 });
    expect(run.results.map((r) => r.eps)).toEqual(eps);
    for (const r of run.results) {
      expect(Math.max(...r.distances.linf)).toBeLessThanOrEqual((r.eps ?? 0) + 1e-6);
      const v = r.adversarial?.dataSync() ?? [];
      expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...v)).toBeLessThanOrEqual(1);
    }
    // eps 0 leaves the inputs as they are: success only where the model was already wrong.
    expect(run.results[0].accuracy).toBe(run.cleanAccuracy);
    expect(run.results[2].accuracy).toBeLessThan(run.results[1].accuracy + 1e-9);
    expect(run.results[0].cost.queries).toBe(12);
    run.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('resolves goals: a class, least-likely (argmin of the clean logits) and seeded random', async () => {
    const base = { x: f.x, labels: f.labels, eps: 0, keepAdversarial: false } as const;
    const fixed = await runAttack(f.classifier, wild, { ...base, goal: { target: 3 } });
    expect(Array.from(fixed.targets ?? [])).toEqual(new Array(12).fill(3));
    const ll = await runAttack(f.classifier, wild, { ...base, goal: 'least-likely' });
    const argmin = tf.tidy(() => tf.argMin(f.classifier.logits(f.x), 1));
    expect(Array.from(ll.targets ?? [])).toEqual(Array.from(argmin.dataSync()));
    argmin.dispose();
    const r1 = await runAttack(f.classifier, wild, { ...base, goal: 'random', seed: 4 });
    const r2 = await runAttack(f.classifier, wild, { ...base, goal: 'random', seed: 4 });
    expect(r1.targets).toEqual(r2.targets);
    r1.targets?.forEach((t, i) => expect(t).not.toBe(f.labels[i]));
    // Targeted success at eps 0 only where the clean prediction already is the target.
    fixed.results[0].success.forEach((s, i) => expect(s).toBe(Number(fixed.cleanPredictions[i] === 3)));
  });

  it('does not count an example whose target is its true label as a success, keeps it clean and says so', async () => {
    const before = tf.memory().numTensors;
    // wild moves every input far: without the rule, examples already predicted as their target "succeed".
    const targets = Int32Array.from(f.labels, (y, i) => (i < 5 ? y : (y + 1) % 10));
    const run = await runAttack(f.classifier, wild, {
      x: f.x,
      labels: f.labels,
      goal: { target: targets },
      eps: 0.3,
    });
    const r = run.results[0];
    expect(run.sameTargetCount).toBe(5);
    expect(run.notes).toEqual([
      expect.stringMatching(/^5 of 12 examples already belong to their target class/),
    ]);
    for (let i = 0; i < 5; i++) {
      expect(r.success[i]).toBe(0);
      expect(r.distances.linf[i]).toBe(0);
      expect(r.predictions[i]).toBe(run.cleanPredictions[i]);
    }
    // Success and accuracy agree: an example counted as fooled is never also counted as correct.
    r.success.forEach((s, i) => expect(s === 1 && r.predictions[i] === f.labels[i]).toBe(false));
    run.dispose();
    const untargeted = await runAttack(f.classifier, wild, {
      x: f.x,
      labels: f.labels,
      eps: 0,
      keepAdversarial: false,
    });
    expect(untargeted.sameTargetCount).toBe(0);
    expect(untargeted.notes).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reports progress up to the whole and can be cancelled', async () => {
    const seen: AttackProgress[] = [];
    const run = await runAttack(f.classifier, pgd, {
      x: f.x,
      labels: f.labels,
      eps: [0.1, 0.2],
      params: { steps: 3 },
      batchSize: 4,
      onProgress: (p) => seen.push(p),
    });
    run.dispose();
    expect(seen.at(-1)).toMatchObject({ done: 12, total: 12, fraction: 1 });
    const controller = new AbortController();
    controller.abort();
    const before = tf.memory().numTensors;
    const err = await caught(
      runAttack(f.classifier, pgd, { x: f.x, labels: f.labels, eps: 0.1, signal: controller.signal }),
    );
    expect(err.code).toBe('ABORTED');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad requests with messages that say what is expected', async () => {
    const ok = { x: f.x, labels: f.labels, eps: 0.1 };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ eps: undefined }, /pgd needs a budget: give eps/],
      [{ eps: -1 }, /eps must be finite numbers >= 0/],
      [{ eps: [] }, /empty list/],
      [{ norm: 'l3' }, /norm must be one of linf, l2, l1/],
      [{ labels: [1, 2] }, /labels has 2 entries for 12 examples/],
      [{ labels: new Array(12).fill(10) }, /labels\[0\] is 10; class indices go from 0 to 9/],
      [{ goal: { target: 12 } }, /target\[0\] is 12/],
      [{ goal: 'sideways' }, /goal must be/],
      [{ batchSize: 0 }, /batchSize must be an integer >= 1/],
      [{ eot: 0 }, /eot \(passes averaged per gradient\) must be an integer >= 1/],
      [{ seed: 2 ** 53 }, /seed must be an integer from 0 to 9007199254740991/],
      [{ seed: -1 }, /seed must be an integer from 0/],
      [{ x: tf.zeros([2, 28, 28, 3]) }, /x must have shape \[n, 28, 28, 1\]/],
      [{ x: tf.fill([12, 28, 28, 1], 255) }, /bounds are \[0, 1\]/],
      [
        { x: withNaN(f.x, 2) },
        /x contains 2 NaN values; inputs must be numbers within the model's bounds \[0, 1\]/,
      ],
    ];
    for (const [change, message] of cases) {
      const err = await caught(runAttack(f.classifier, pgd, { ...ok, ...change }));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toMatch(message);
    }
  });
});
