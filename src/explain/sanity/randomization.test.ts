import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMnistFixture, type MnistFixture } from '../../attacks/test-utils/mnist-fixture.js';
import type { Model } from '../../models/model.js';
import { METHODS } from '../registry.js';
import { RANDOMIZATION_THRESHOLD, randomizationTest, type RandomizationResult } from './randomization.js';
import { edgeDetector } from './test-utils/edge-detector.js';

/** Few noise samples and IG steps keep the suite fast; the verdicts are the same at the defaults. */
const FAST_PARAMS: Record<string, Record<string, unknown>> = {
  smoothgrad: { samples: 16 },
  'smoothgrad-sq': { samples: 16 },
  ig: { steps: 16, tolerance: 0 },
};

/** Methods whose maps must decorrelate (Adebayo et al. 2018); the others are reported. */
const MUST_PASS = new Set(['saliency', 'gradcam']);

/** The classifier seen only through its logits, as a served model would be. */
function blackBox(mnist: MnistFixture): Model {
  const inner = mnist.classifier;
  return {
    inputShape: inner.inputShape,
    bounds: inner.bounds,
    classNames: inner.classNames,
    numClasses: inner.numClasses,
    logits: (x) => inner.logits(x),
    predict: (x) => inner.predict(x),
    dispose: () => undefined,
  };
}

function logitsOf(mnist: MnistFixture): number[] {
  const z = mnist.classifier.logits(mnist.x);
  const out = Array.from(z.dataSync());
  z.dispose();
  return out;
}

describe('randomizationTest on the MNIST CNN', () => {
  let mnist: MnistFixture;
  const results: RandomizationResult[] = [];
  beforeAll(async () => {
    mnist = await loadMnistFixture(8);
  });
  afterAll(() => {
    mnist.dispose();
    // The measured correlations, for the record (mean over the 8 inputs; the last step is full randomization).
    const rows = results.map((r) => {
      const steps = r.steps.map((s) => `${s.layer} ${s.spearmanAbs.toFixed(2)}/${s.spearman.toFixed(2)}`);
      const verdict = r.flagged ? 'FLAGGED' : r.passed ? 'passed' : 'failed';
      return `${r.method.padEnd(16)} ${verdict.padEnd(7)} measure ${r.measure.toFixed(3)}  abs/signed: ${steps.join(', ')}`;
    });
    console.log(`model-parameter randomization (cascade), MNIST CNN, 8 inputs:\n${rows.join('\n')}`);
  });

  it.each(METHODS.map((m) => [m.name, m] as const))('%s runs through the cascade', async (name, method) => {
    const clean = logitsOf(mnist);
    const before = tf.memory().numTensors;
    const r = await randomizationTest(mnist.classifier, method, { x: mnist.x, params: FAST_PARAMS[name] });
    results.push(r);
    expect(tf.memory().numTensors).toBe(before);
    // The caller's model is untouched.
    expect(logitsOf(mnist)).toEqual(clean);
    expect(r.steps.map((s) => s.layer)).toEqual(['logits', 'fc1', 'conv2', 'conv1']);
    expect(r.steps[3].randomized).toEqual(['logits', 'fc1', 'conv2', 'conv1']);
    expect(r.steps[0].spearmanAbsPerInput).toHaveLength(8);
    expect(r.threshold).toBe(RANDOMIZATION_THRESHOLD);
    expect(r.cost.gradients + r.cost.queries).toBeGreaterThan(0);
    // Every attribution method depends on the weights: its signed maps change when they are re-drawn.
    expect(r.flagged, r.detail).toBe(false);
    expect(r.steps[3].spearman).toBeLessThan(0.9);
    if (MUST_PASS.has(name)) {
      expect(r.passed, r.detail).toBe(true);
      expect(r.measure).toBeLessThan(RANDOMIZATION_THRESHOLD);
      expect(r.detail).toMatch(new RegExp(`^${name} passes: with layers logits, fc1, conv2, conv1 re-drawn`));
    }
  });

  it('flags a method that ignores the weights (an edge detector)', async () => {
    const r = await randomizationTest(mnist.classifier, edgeDetector, { x: mnist.x });
    expect(r.flagged).toBe(true);
    expect(r.passed).toBe(false);
    for (const step of r.steps) {
      expect(step.spearman).toBe(1);
      expect(step.spearmanAbs).toBe(1);
    }
    expect(r.detail).toMatch(/^edge-detector does not depend on the model's weights: its maps stay the same/);
  });

  it('keeps the trained model targets, and the same seed repeats the test', async () => {
    const a = await randomizationTest(mnist.classifier, 'saliency', {
      x: mnist.x,
      target: 'label',
      labels: mnist.labels,
    });
    expect(a.targets).toEqual(Array.from(mnist.labels));
    const b = await randomizationTest(mnist.classifier, 'saliency', {
      x: mnist.x,
      target: 'label',
      labels: mnist.labels,
    });
    expect(b).toEqual(a);
    const c = await randomizationTest(mnist.classifier, 'saliency', {
      x: mnist.x,
      target: 'label',
      labels: mnist.labels,
      seed: 1,
    });
    expect(c.seed).toBe(1);
    expect(c.steps[0].spearmanAbs).not.toBe(a.steps[0].spearmanAbs);
  });

  it('randomizes layers one at a time, or stops the cascade at the layers named', async () => {
    const independent = await randomizationTest(mnist.classifier, 'gradcam', {
      x: mnist.x,
      mode: 'independent',
      layers: ['conv1', 'logits'],
    });
    expect(independent.steps.map((s) => s.randomized)).toEqual([['logits'], ['conv1']]);
    const measures = independent.steps.map(
      (s) => s.spearmanAbsPerInput.reduce((a, v) => a + Math.abs(v), 0) / s.spearmanAbsPerInput.length,
    );
    expect(independent.measure).toBeCloseTo(Math.min(...measures), 10);
    expect(independent.detail).toMatch(/re-drawn \(the layer that changed the maps most\)/);

    const cascade = await randomizationTest(mnist.classifier, 'saliency', { x: mnist.x, layers: ['fc1'] });
    expect(cascade.steps.map((s) => [s.layer, s.randomized])).toEqual([['fc1', ['logits', 'fc1']]]);
  });

  it('says why it cannot run, and rejects bad options', async () => {
    const x = mnist.x;
    await expect(randomizationTest(blackBox(mnist), 'saliency', { x })).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringMatching(/^The model-parameter randomization test re-draws the model's weights/),
    });
    const run = (opts: object) => randomizationTest(mnist.classifier, 'saliency', { x, ...opts });
    await expect(run({ layers: ['pool1'] })).rejects.toThrow(
      "randomizationTest: 'pool1' is not a layer with weights. Layers with weights, top down: logits, fc1, conv2, conv1.",
    );
    await expect(run({ layers: [] })).rejects.toThrow(/layers is empty/);
    await expect(run({ mode: 'all' })).rejects.toThrow(/mode must be 'cascade' or 'independent', got "all"/);
    await expect(run({ threshold: 0 })).rejects.toThrow(/threshold must be a number in \(0, 1\], got 0/);
    await expect(run({ params: { sigma: 1 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(randomizationTest(mnist.classifier, 'nope', { x })).rejects.toThrow(
      /Unknown explanation method 'nope'/,
    );
    const aborted = new AbortController();
    aborted.abort();
    const before = tf.memory().numTensors;
    await expect(run({ signal: aborted.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(tf.memory().numTensors).toBe(before);
  });
});
