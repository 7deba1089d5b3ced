import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apgd } from '../attacks/apgd.js';
import { pgd } from '../attacks/pgd.js';
import { runAttack } from '../attacks/run-attack.js';
import { loadMnistFixture, type MnistFixture } from '../attacks/test-utils/mnist-fixture.js';
import type { Attack } from '../attacks/types.js';
import type { Model } from '../models/model.js';
import type { Schema } from '../util/schema.js';
import { evaluateRobustness } from './evaluate-robustness.js';

/**
 * A hand-written wrapper, as a defense or a remote model would be: it adds a constant to every logit of the model
 * it wraps. Softmax, argmax and every attack loss are shift-invariant, so each attack and evaluation must give
 * exactly what it gives on the wrapped model: the contract that lets anything wrapping a model be attacked.
 */
function shiftedLogits(base: Model, shift: number): Model {
  return {
    inputShape: base.inputShape,
    bounds: base.bounds,
    classNames: base.classNames,
    numClasses: base.numClasses,
    logits: (x, opts) => tf.tidy(() => tf.add<tf.Tensor2D>(base.logits(x, opts), shift)),
    predict: (x) => base.predict(x),
    // The wrapper does not own the model it wraps.
    dispose: () => undefined,
  };
}

describe('a Model that wraps another', () => {
  let f: MnistFixture;
  let wrapped: Model;
  beforeAll(async () => {
    f = await loadMnistFixture(8);
    wrapped = shiftedLogits(f.classifier, 5);
  });
  afterAll(() => f.dispose());

  it('runs through runAttack unchanged: the same adversarial inputs as the wrapped model', async () => {
    const before = tf.memory().numTensors;
    const compare = async <S extends Schema>(attack: Attack<S>): Promise<void> => {
      const options = { x: f.x, labels: f.labels, eps: 0.2, params: { steps: 5 }, seed: 4 };
      const direct = await runAttack(f.classifier, attack, options);
      const through = await runAttack(wrapped, attack, options);
      expect(through.results[0].predictions).toEqual(direct.results[0].predictions);
      expect(through.results[0].cost).toEqual(direct.results[0].cost);
      const a = through.results[0].adversarial?.dataSync() ?? [];
      const b = direct.results[0].adversarial?.dataSync() ?? [];
      expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-5);
      direct.dispose();
      through.dispose();
    };
    await compare(pgd);
    await compare(apgd);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('runs through evaluateRobustness unchanged', async () => {
    const before = tf.memory().numTensors;
    const options = { x: f.x, labels: f.labels, norm: 'linf', eps: [0.1], suite: ['pgd'], seed: 2 } as const;
    const direct = await evaluateRobustness(f.classifier, options);
    const through = await evaluateRobustness(wrapped, options);
    expect(through.cleanAccuracy).toBe(direct.cleanAccuracy);
    expect(through.perEps[0].robust).toEqual(direct.perEps[0].robust);
    expect(through.perEps[0].robustAccuracy).toBe(direct.perEps[0].robustAccuracy);
    expect(tf.memory().numTensors).toBe(before);
  });
});
