import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgd } from '../attacks/pgd.js';
import { runAttack } from '../attacks/run-attack.js';
import { loadMnistFixture, type MnistFixture } from '../attacks/test-utils/mnist-fixture.js';
import { AdvkitError } from '../errors.js';
import { Classifier } from '../models/classifier.js';
import { loadClassifier } from '../models/node/load-classifier.js';
import { bundledModelDir } from '../models/node/package-root.js';
import { compareRobustness, type CompareProgress } from './compare.js';

let fixture: MnistFixture;
let robust: Classifier;
let cifar: Classifier;

beforeAll(async () => {
  fixture = await loadMnistFixture(20);
  robust = await loadClassifier(bundledModelDir('mnist-cnn-robust'));
  cifar = await loadClassifier(bundledModelDir('cifar-cnn'));
});

afterAll(() => {
  fixture.dispose();
  robust.dispose();
  cifar.dispose();
});

// Ten steps of eps/4 reach the edge of the ball (the default relative step is sized for 40 steps).
const quick = [{ attack: 'fgsm' }, { attack: 'pgd', params: { steps: 10, relStepSize: 0.25 } }];

describe('compareRobustness', () => {
  it('shows the robust MNIST model resisting Linf 0.3 where the standard one falls, without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const progress: CompareProgress[] = [];
    const out = await compareRobustness(
      [
        { name: 'standard', classifier: fixture.classifier },
        { name: 'robust', classifier: robust },
      ],
      {
        x: fixture.x,
        labels: fixture.labels,
        eps: [0, 0.3],
        attacks: quick,
        onProgress: (p) => progress.push(p),
      },
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(out).toMatchObject({ norm: 'linf', eps: [0, 0.3], n: 20, seed: 0 });
    expect(out.attacks.map((a) => a.label)).toEqual(['FGSM', 'PGD-10']);
    expect(out.attacks[1].params).toMatchObject({ steps: 10, randomStart: true });
    const [standard, hardened] = out.models;
    expect(standard.attacks.map((a) => a.attack)).toEqual(['FGSM', 'PGD-10']);
    for (const row of out.models) {
      expect(row.cleanAccuracy).toBeGreaterThanOrEqual(0.95);
      // At eps 0 every attack leaves the clean accuracy; the worst case never beats any single attack.
      for (const a of row.attacks) {
        expect(a.accuracy[0]).toBe(row.cleanAccuracy);
        expect(row.worstCase[1]).toBeLessThanOrEqual(a.accuracy[1]);
      }
      expect(row.worstCase[0]).toBe(row.cleanAccuracy);
    }
    expect(standard.worstCase[1]).toBeLessThanOrEqual(0.1);
    expect(hardened.worstCase[1]).toBeGreaterThanOrEqual(0.7);
    expect(standard.attacks[1].gradientsPerExample[1]).toBeGreaterThan(0);
    // Progress runs over both models and both attacks and ends at 1.
    const fractions = progress.map((p) => p.fraction);
    expect(fractions.every((f, i) => i === 0 || f >= fractions[i - 1])).toBe(true);
    expect(fractions.at(-1)).toBeCloseTo(1, 6);
    expect(new Set(progress.map((p) => `${p.model}/${p.attack}`)).size).toBe(4);
  });

  it('reports what runAttack reports for the same attack, seed and data', async () => {
    const out = await compareRobustness([{ name: 'robust', classifier: robust }], {
      x: fixture.x,
      labels: fixture.labels,
      eps: [0.2],
      attacks: [{ attack: pgd, params: { steps: 5 }, label: 'pgd5' }],
      seed: 3,
    });
    const direct = await runAttack(robust, pgd, {
      x: fixture.x,
      labels: fixture.labels,
      eps: [0.2],
      params: { steps: 5 },
      seed: 3,
      keepAdversarial: false,
    });
    expect(out.models[0].attacks[0]).toMatchObject({
      attack: 'pgd5',
      accuracy: [direct.results[0].accuracy],
    });
    expect(out.models[0].cleanAccuracy).toBe(direct.cleanAccuracy);
  });

  it('refuses models, budgets and attacks that cannot be compared', async () => {
    const base = { x: fixture.x, labels: fixture.labels, eps: [0.1], attacks: ['fgsm'] };
    const standard = { name: 'standard', classifier: fixture.classifier };
    const cases: [Parameters<typeof compareRobustness>, RegExp][] = [
      [[[], base], /at least one model/],
      [[[standard, { name: 'standard', classifier: robust }], base], /named 'standard'/],
      [[[standard, { name: 'cifar', classifier: cifar }], base], /input shapes 28x28x1 vs 32x32x3/],
      [[[standard], { ...base, eps: [] }], /empty list/],
      [[[standard], { ...base, eps: [-0.1] }], /eps must be finite numbers >= 0/],
      [[[standard], { ...base, eps: [Infinity] }], /eps must be finite/],
      [[[standard], { ...base, attacks: ['nope'] }], /Unknown attack 'nope'/],
      [[[standard], { ...base, attacks: [] }], /at least one attack/],
      [[[standard], { ...base, norm: 'l1' }], /fgsm does not support the l1 norm/],
      [[[standard], { ...base, attacks: ['fgsm', { attack: 'fgsm' }] }], /labelled 'FGSM'/],
      [[[standard], { ...base, attacks: [{ attack: 'pgd', params: { steps: 0 } }] }], /steps/],
    ];
    for (const [args, message] of cases) {
      const err: unknown = await compareRobustness(...args).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AdvkitError);
      expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
    }
  });

  it('refuses models with other classes', async () => {
    // The same network under other class names (not disposed: it shares the robust model's weights).
    const renamed = new Classifier(robust.net, {
      ...robust.metadata,
      classNames: robust.classNames.map((c) => `digit ${c}`),
    });
    await expect(
      compareRobustness(
        [
          { name: 'a', classifier: fixture.classifier },
          { name: 'b', classifier: renamed },
        ],
        { x: fixture.x, labels: fixture.labels, eps: [0.1] },
      ),
    ).rejects.toThrow(/class names 0,1,2.* vs digit 0/);
  });

  it('stops with ABORTED when the signal fires', async () => {
    const abort = new AbortController();
    abort.abort();
    await expect(
      compareRobustness([{ name: 'robust', classifier: robust }], {
        x: fixture.x,
        labels: fixture.labels,
        eps: [0.1],
        signal: abort.signal,
      }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
