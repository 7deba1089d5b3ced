import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { realDataRoot } from '../data/test-utils/real-data.js';
import type { AttackSummary } from './attack-dataset.js';
import { attackTask } from './attack.js';
import { explainTask } from './explain.js';
import { predictTask } from './predict.js';

beforeAll(async () => {
  process.env.ADVKIT_DATA = realDataRoot();
  await initNodeBackend();
});

// The `defense` field of predict, attack and explain: the model behind the chain is what they classify,
// attack (through BPDA) and explain. evaluate's own handling is in evaluate-defense.test.ts.
describe("the 'defense' option", () => {
  it('predict classifies through the chain and says which', async () => {
    const before = tf.memory().numTensors;
    const plain = await predictTask.run({ model: 'mnist-cnn', data: 'mnist', n: 8 });
    const defended = await predictTask.run({ model: 'mnist-cnn', data: 'mnist', n: 8, defense: 'bits:1' });
    expect(plain.result.defense).toBeUndefined();
    expect(defended.result.defense).toBe('bits:1');
    expect(defended.result.predictions).toHaveLength(8);
    expect(defended.result.accuracy).toBeGreaterThan(0.5);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('attack goes through a non-differentiable chain by BPDA, and asks for EOT behind a random one', async () => {
    const { result } = await attackTask.run({
      model: 'mnist-cnn',
      data: 'mnist',
      n: 8,
      attack: 'pgd',
      eps: '0.3',
      defense: 'jpeg:75,bits:4',
      pictures: false,
    });
    const summary = result as AttackSummary;
    expect(summary.defense).toBe('jpeg:75,bits:4');
    expect(summary.results[0].successRate).toBeGreaterThan(0.5);
    const random = (
      await attackTask.run({
        model: 'mnist-cnn',
        data: 'mnist',
        n: 2,
        attack: 'fgsm',
        eps: '0.1',
        defense: 'resize-pad:0.1',
        pictures: false,
      })
    ).result as AttackSummary;
    expect(random.notes.join('\n')).toMatch(/resize-pad:0.1 is random: .* give --eot 20/);
  });

  it('explain runs gradient methods through the chain and refuses the layer-reading ones and the sanity test', async () => {
    const { result } = await explainTask.run({
      model: 'mnist-cnn',
      data: 'mnist',
      n: 2,
      methods: 'saliency',
      defense: 'bits:4',
    });
    expect(result.models[0].defense).toBe('bits:4');
    await expect(
      explainTask.run({ model: 'mnist-cnn', data: 'mnist', n: 2, methods: 'gradcam', defense: 'bits:4' }),
    ).rejects.toThrow(/gradcam reads the model's layers, which behind a defense see the transformed image/);
    await expect(
      explainTask.run({
        model: 'mnist-cnn',
        data: 'mnist',
        n: 2,
        methods: 'saliency',
        defense: 'jpeg',
        sanity: true,
      }),
    ).rejects.toThrow(/randomization test .* does not run behind a defense/);
  });
});
