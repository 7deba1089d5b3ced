import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import { realDataRoot } from '../data/test-utils/real-data.js';
import { evaluateTask } from './evaluate.js';

beforeAll(async () => {
  process.env.ADVKIT_DATA = realDataRoot();
  await initNodeBackend();
});

describe('evaluate behind a defense', () => {
  it('attacks through BPDA by default, and flags the naive run asked for beside it (masked gradients)', async () => {
    const before = tf.memory().numTensors;
    const { result } = await evaluateTask.run({
      model: 'mnist-cnn',
      defense: 'jpeg:75',
      gradients: 'both',
      n: 8,
      eps: '0.3',
      suite: 'pgd',
      gallery: 0,
    });
    expect(tf.memory().numTensors).toBe(before);
    const { report } = result;
    const defense = report.defense;
    expect(defense).toMatchObject({
      spec: 'jpeg:75',
      differentiable: false,
      random: false,
      gradients: 'adaptive',
    });
    expect(defense?.note).toMatch(/BPDA through jpeg:75/);
    expect(report.flags.map((f) => f.id)).not.toContain('masked-gradients');
    const naive = defense?.naive;
    expect(naive?.flags.map((f) => f.id)).toContain('masked-gradients');
    expect(naive?.flags.find((f) => f.id === 'masked-gradients')?.advice).toMatch(
      /naive evaluation of the defense jpeg:75: use the adaptive one/,
    );
    const adaptiveAcc = report.robust[0].autoattack_acc;
    const naiveAcc = naive?.robust[0].autoattack_acc ?? 0;
    expect(adaptiveAcc).toBeLessThanOrEqual(naiveAcc);
    expect(naiveAcc).toBeGreaterThan(adaptiveAcc);
    expect(report.command).toMatch(/^advkit evaluate --model mnist-cnn --defense jpeg:75 --gradients both /);
  }, 120_000);

  it('averages gradients over 20 draws of a random defense unless told otherwise', async () => {
    const { result } = await evaluateTask.run({
      model: 'mnist-cnn',
      defense: 'resize-pad:0.1',
      n: 2,
      eps: '0.1',
      suite: 'pgd',
      gallery: 0,
    });
    expect(result.report.suite.attacks.map((a) => a.eot)).toEqual([20]);
    // The checks that attack take EOT too, so the random chain is not flagged for their own single draws.
    const flags = result.report.flags.map((f) => [f.id, f.severity]);
    expect(flags).toContainEqual(['randomized-model', 'info']);
    expect(flags.filter(([, severity]) => severity === 'warning')).toEqual([]);
    expect(result.report.defense?.note).toMatch(/EOT over 20 draws/);
  }, 120_000);

  it("refuses 'gradients' without a defense, and an unknown transform with the list of known ones", async () => {
    await expect(evaluateTask.run({ model: 'mnist-cnn', gradients: 'naive', n: 2 })).rejects.toThrow(
      /'gradients' says how to attack through a defense; give 'defense' too/,
    );
    await expect(evaluateTask.run({ model: 'mnist-cnn', defense: 'jpg:75', n: 2 })).rejects.toThrow(
      /jpg.*jpeg, bits, median, blur, resize-pad, tv/s,
    );
  });
});
