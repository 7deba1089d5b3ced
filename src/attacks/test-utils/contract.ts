import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdvkitError } from '../../errors.js';
import type { Schema } from '../../util/schema.js';
import { runAttack, type RunAttackOptions } from '../run-attack.js';
import type { Attack, Norm } from '../types.js';
import { loadMnistFixture, type MnistFixture } from './mnist-fixture.js';

export interface ContractCase {
  norm: Norm;
  /** A budget at which the attack must lower the bundled MNIST model's accuracy. */
  eps: number;
  /** Parameters that keep the run short. */
  params?: Readonly<Record<string, unknown>>;
  /** A parameter value the schema must reject, e.g. { steps: 0 }. */
  badParams: Readonly<Record<string, unknown>>;
  /** Examples in the sample (default 16). */
  count?: number;
}

/**
 * The contract every attack meets (run from each attack's test file): shapes and bounds hold; the distance is
 * within eps for fixed-budget attacks; accuracy strictly drops on the bundled MNIST model; targeted success
 * means prediction == target; the same seed gives the same output; no tensor leaks; bad parameters give the
 * typed error.
 */
export function describeAttackContract(attack: Attack<Schema>, cases: readonly ContractCase[]): void {
  describe(`${attack.name}: the attack contract`, () => {
    let f: MnistFixture;
    beforeAll(async () => {
      f = await loadMnistFixture(Math.max(...cases.map((c) => c.count ?? 16)));
    });
    afterAll(() => f.dispose());

    const slice = (count: number): { x: tf.Tensor4D; labels: Int32Array } => ({
      x: tf.slice(f.x, [0, 0, 0, 0], [count, -1, -1, -1]),
      labels: f.labels.subarray(0, count),
    });

    for (const c of cases) {
      const count = c.count ?? 16;
      const options = (x: tf.Tensor4D, labels: Int32Array): RunAttackOptions => ({
        x,
        labels,
        eps: attack.budget === 'fixed' ? c.eps : [c.eps],
        norm: c.norm,
        params: c.params,
        seed: 7,
      });

      it(`${c.norm}: bounded, within eps, lowers accuracy, reproducible, no leaks`, async () => {
        const { x, labels } = slice(count);
        const before = tf.memory().numTensors;
        const run = await runAttack(f.classifier, attack, options(x, labels));
        const again = await runAttack(f.classifier, attack, options(x, labels));
        const result = run.results[0];
        const adv = result.adversarial;
        expect(adv).not.toBeNull();
        if (adv === null) return;
        expect(adv.shape).toEqual(x.shape);
        const values = adv.dataSync();
        const [lo, hi] = f.classifier.bounds;
        expect(Math.min(...values)).toBeGreaterThanOrEqual(lo);
        expect(Math.max(...values)).toBeLessThanOrEqual(hi);
        const dist = result.distances[c.norm];
        expect(Math.max(...dist)).toBeLessThanOrEqual(c.eps * (1 + 1e-5) + 1e-6);
        expect(result.accuracy).toBeLessThan(run.cleanAccuracy);
        expect(result.cost.queries).toBeGreaterThan(0);
        expect(Array.from(again.results[0].adversarial?.dataSync() ?? [])).toEqual(Array.from(values));
        run.dispose();
        again.dispose();
        x.dispose();
        expect(tf.memory().numTensors).toBe(before - 1);
      });

      if (attack.targeted) {
        it(`${c.norm}: targeted success means prediction == target`, async () => {
          const { x, labels } = slice(count);
          const targets = labels.map((y) => (y + 1) % 10);
          const run = await runAttack(f.classifier, attack, {
            ...options(x, labels),
            goal: { target: targets },
          });
          const r = run.results[0];
          let successes = 0;
          for (let i = 0; i < count; i++) {
            expect(r.success[i] === 1).toBe(r.predictions[i] === targets[i]);
            successes += r.success[i];
          }
          expect(successes).toBeGreaterThan(0);
          run.dispose();
          x.dispose();
        });
      }

      it(`${c.norm}: bad parameters give a typed error`, async () => {
        const { x, labels } = slice(2);
        for (const params of [c.badParams, { noSuchParameter: 1 }]) {
          const err = await runAttack(f.classifier, attack, { ...options(x, labels), params }).catch(
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(AdvkitError);
          expect((err as AdvkitError).code).toBe('INVALID_ARGUMENT');
        }
        x.dispose();
      });
    }
  });
}
