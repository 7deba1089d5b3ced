import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fgsm } from '../../attacks/fgsm.js';
import { pgd } from '../../attacks/pgd.js';
import { predictClasses } from '../../attacks/predict-classes.js';
import { runAttack } from '../../attacks/run-attack.js';
import { loadMnistFixture, type MnistFixture } from '../../attacks/test-utils/mnist-fixture.js';
import { AdvkitError } from '../../errors.js';
import { createClassifier } from '../../models/create-classifier.js';
import { attackWithDetector, jointModel } from './adaptive-attack.js';
import { activationOf, binaryActivationDetector, binaryInputDetector } from './binary-detector.js';
import { detectionRates } from './detection-rates.js';
import { detectorScores, flagRate, thresholdAtFpr } from './detector.js';
import { featureSqueezing, parseSqueezers } from './feature-squeezing.js';

/**
 * The detectors on the bundled MNIST CNN: feature squeezing's threshold holds its false-positive rate on other
 * clean images, flags FGSM, and the adaptive attack (which knows the detector) gets past it.
 */
let fx: MnistFixture;
let fit: tf.Tensor4D;
let heldOut: tf.Tensor4D;
const N_FIT = 150;
const N_HELD = 150;

beforeAll(async () => {
  fx = await loadMnistFixture(N_FIT + N_HELD);
  fit = tf.slice(fx.x, [0, 0, 0, 0], [N_FIT, -1, -1, -1]);
  heldOut = tf.slice(fx.x, [N_FIT, 0, 0, 0], [N_HELD, -1, -1, -1]);
});

afterAll(() => {
  tf.dispose([fit, heldOut]);
  fx.dispose();
});

function caught(fn: () => unknown): AdvkitError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AdvkitError) return err;
    throw err;
  }
  throw new Error('expected an AdvkitError');
}

describe('thresholdAtFpr', () => {
  it('is the (1 - fpr) quantile: exactly floor(fpr * m) clean scores lie above it', () => {
    const scores = Array.from({ length: 100 }, (_, i) => (i * 37) % 100);
    const t = thresholdAtFpr(scores, 0.05);
    expect(t).toBe(94);
    expect(flagRate(scores, t)).toBe(0.05);
    expect(flagRate(scores, thresholdAtFpr(scores, 0.999))).toBeGreaterThan(0.9);
    expect(thresholdAtFpr([3], 0.05)).toBe(3);
  });

  it('refuses an fpr outside (0, 1), no scores and non-finite scores', () => {
    expect(caught(() => thresholdAtFpr([1, 2], 0)).message).toMatch(/fpr .* in \(0, 1\)/);
    expect(caught(() => thresholdAtFpr([1, 2], 1.5)).code).toBe('INVALID_ARGUMENT');
    expect(caught(() => thresholdAtFpr([], 0.05)).message).toMatch(/at least one clean score/);
    expect(caught(() => thresholdAtFpr([1, Number.NaN], 0.05)).code).toBe('CORRUPT_DATA');
  });
});

describe('feature squeezing (Xu et al. 2018)', () => {
  it('holds the 5% false-positive rate on held-out clean images and flags FGSM; no tensor left behind', async () => {
    const before = tf.memory().numTensors;
    const detector = featureSqueezing(fx.classifier, parseSqueezers('bits:1,median:3'));
    const t = thresholdAtFpr(await detectorScores(detector, fit), 0.05);
    const heldScores = await detectorScores(detector, heldOut);
    expect(flagRate(heldScores, t)).toBeLessThanOrEqual(0.1);
    const labels = fx.labels.slice(N_FIT);
    const run = await runAttack(fx.classifier, fgsm, { x: heldOut, labels, eps: 0.3 });
    const rates = await detectionRates(detector, run.results[0].adversarial!, {
      labels,
      cleanPredictions: run.cleanPredictions,
      threshold: t,
    });
    run.dispose();
    expect(rates.attackSuccess).toBeGreaterThan(0.5);
    expect(rates.detectionRate).toBeGreaterThan(0.5);
    expect(rates.undetectedAdversarial).toBeLessThan(rates.attackSuccess);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the adaptive attack (PGD through BPDA on the joint objective) gets past it, seeded and without leaks', async () => {
    // 3-bit depth: its levels are 1/7 apart, within the 0.3 budget (1-bit MNIST squeezing is not: see README).
    const detector = featureSqueezing(fx.classifier, parseSqueezers('bits:3'));
    const t = thresholdAtFpr(await detectorScores(detector, fit), 0.05);
    const x = tf.slice(heldOut, [0, 0, 0, 0], [40, -1, -1, -1]);
    const labels = fx.labels.slice(N_FIT, N_FIT + 40);
    const cleanPredictions = await predictClasses(fx.classifier, x, { batchSize: 128 });
    const run = await runAttack(fx.classifier, pgd, { x, labels, eps: 0.3, params: { steps: 20 } });
    const plain = await detectionRates(detector, run.results[0].adversarial!, {
      labels,
      cleanPredictions,
      threshold: t,
    });
    run.dispose();
    const before = tf.memory().numTensors;
    const options = { x, labels, threshold: t, eps: 0.3, weight: 2, params: { steps: 40 }, seed: 3 };
    const adv = await attackWithDetector(detector, options);
    expect(tf.memory().numTensors).toBe(before + 1);
    const adaptive = await detectionRates(detector, adv, { labels, cleanPredictions, threshold: t });
    expect(plain.detectionRate).toBeGreaterThan(0.9);
    expect(adaptive.detectionRate).toBeLessThan(0.5);
    expect(adaptive.undetectedAdversarial).toBeGreaterThan(0.5);
    // Inside the ball and the bounds.
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(adv, x))).dataSync()[0])).toBeLessThanOrEqual(0.3 + 1e-6);
    const again = await attackWithDetector(detector, options);
    expect(Array.from(again.dataSync())).toEqual(Array.from(adv.dataSync()));
    tf.dispose([adv, again, x]);
  });

  it('refuses random, unknown or no squeezers and inputs of the wrong shape', () => {
    expect(caught(() => parseSqueezers('resize-pad:0.2')).message).toMatch(/deterministic squeezers/);
    expect(caught(() => parseSqueezers('blurry:3')).message).toMatch(/blurry/);
    expect(caught(() => parseSqueezers('none')).message).toMatch(/at least one squeezer/);
    expect(caught(() => parseSqueezers('bits:0')).code).toBe('INVALID_ARGUMENT');
    const detector = featureSqueezing(fx.classifier, parseSqueezers('bits:4'));
    const wrong = tf.zeros([2, 8, 8, 1]) as tf.Tensor4D;
    expect(caught(() => detector.score(wrong)).message).toMatch(/\[n, 28, 28, 1\]/);
    wrong.dispose();
  });
});

describe('binary detectors (Metzen et al. 2017; ART)', () => {
  it("score is the network's logit margin on inputs mapped onto [0, 1] or on scaled activations", async () => {
    const before = tf.memory().numTensors;
    const x = tf.slice(heldOut, [0, 0, 0, 0], [4, -1, -1, -1]);
    const inputNet = createClassifier('mlp', {
      inputShape: [28, 28, 1],
      numClasses: 2,
      hiddenSizes: [8],
      seed: 1,
    });
    const input = binaryInputDetector(fx.classifier, inputNet);
    const expected = tf.tidy(() => {
      const z = inputNet.logits(x);
      return tf.reshape(tf.sub(tf.slice(z, [0, 1], [-1, 1]), tf.slice(z, [0, 0], [-1, 1])), [-1]);
    });
    const got = input.score(x);
    expect(Array.from(got.dataSync())).toEqual(Array.from(expected.dataSync()));
    const layer = fx.classifier.activations!.defaultLayer()!;
    const actNet = createClassifier('mlp', {
      inputShape: layer.shape,
      numClasses: 2,
      hiddenSizes: [8],
      seed: 1,
    });
    const activation = binaryActivationDetector(fx.classifier, actNet, { layer, scale: 2 });
    const a = activationOf(fx.classifier, x, layer.name);
    const expectedAct = tf.tidy(() => {
      const z = actNet.logits(tf.div(a, 2));
      return tf.reshape(tf.sub(tf.slice(z, [0, 1], [-1, 1]), tf.slice(z, [0, 0], [-1, 1])), [-1]);
    });
    const gotAct = activation.score(x);
    expect(Array.from(gotAct.dataSync())).toEqual(Array.from(expectedAct.dataSync()));
    // Differentiable end to end (the adaptive attacker needs it).
    const g = tf.grad((v) => tf.sum(activation.score(v as tf.Tensor4D)))(x);
    expect(g.shape).toEqual(x.shape);
    expect(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0])).toBeGreaterThan(0);
    const joint = jointModel(activation, 0.5, 2);
    const zj = joint.logits(x);
    expect(zj.shape).toEqual([4, 11]);
    expect(joint.classNames[10]).toBe('detected');
    tf.dispose([x, expected, got, a, expectedAct, gotAct, g, zj]);
    inputNet.dispose();
    actNet.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a network without two outputs or with the wrong input shape', () => {
    const three = createClassifier('mlp', { inputShape: [28, 28, 1], numClasses: 3, hiddenSizes: [4] });
    expect(caught(() => binaryInputDetector(fx.classifier, three)).message).toMatch(/2 outputs/);
    three.dispose();
    const small = createClassifier('mlp', { inputShape: [8, 8, 1], numClasses: 2, hiddenSizes: [4] });
    expect(caught(() => binaryInputDetector(fx.classifier, small)).message).toMatch(/\[8, 8, 1\]/);
    const layer = fx.classifier.activations!.defaultLayer()!;
    expect(caught(() => binaryActivationDetector(fx.classifier, small, { layer, scale: 0 })).message).toMatch(
      /scale/,
    );
    small.dispose();
    expect(
      caught(() => jointModel(featureSqueezing(fx.classifier, parseSqueezers('bits:2')), 0, 0)).message,
    ).toMatch(/weight/);
  });
});
