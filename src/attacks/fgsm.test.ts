import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { createClassifier } from '../models/create-classifier.js';
import { fgsm } from './fgsm.js';
import { runAttack } from './run-attack.js';
import { describeAttackContract } from './test-utils/contract.js';

describeAttackContract(fgsm, [
  { norm: 'linf', eps: 0.2, badParams: { loss: 'hinge' } },
  { norm: 'l2', eps: 3, badParams: { loss: 7 } },
]);

describe('fgsm oracle', () => {
  it('on a linear binary model it is x + eps * sign(w_other - w_label), clipped to the bounds', async () => {
    await initNodeBackend();
    const model = createClassifier('linear', { inputShape: [2, 3, 1], numClasses: 2, seed: 5 });
    const w = (model.trainableVariables()[0].arraySync() as number[][]).map((row) => row[1] - row[0]);
    const xs = [0.1, 0.9, 0.5, 0.05, 0.95, 0.4];
    const x = tf.tensor4d(xs, [1, 2, 3, 1]);
    const eps = 0.3;
    const run = await runAttack(model, fgsm, { x, labels: [0], eps });
    const expected = xs.map((v, i) => Math.min(1, Math.max(0, v + eps * Math.sign(w[i]))));
    const got = Array.from(run.results[0].adversarial?.dataSync() ?? []);
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    expect(run.results[0].cost.gradients).toBe(1);
    run.dispose();
    x.dispose();
    model.dispose();
  });
});
