import * as tf from '@tensorflow/tfjs-core';
import type { SanityFlag } from '../report-types.js';
import { fmt, forEachBatch, type ModelSample } from './model-sample.js';

/** Logits of two passes may differ by this much relative to their scale (float noise of some backends). */
const RELATIVE_TOLERANCE = 1e-4;

/**
 * Is the model randomized (two forward passes on the same inputs disagree)? Then one gradient is a single
 * draw, a point that survives one pass may fall on the next, and attacks without Expectation over
 * Transformation overstate robustness (Carlini et al. 2019, "On Evaluating Adversarial Robustness"; Athalye,
 * Carlini & Wagner 2018; AutoAttack's check_randomized and its version='rand', Croce & Hein 2020).
 * A 'warning' when the evaluation used no EOT; with EOT an 'info' (the accuracy is itself a random number).
 * Cost: two forward passes over the sample.
 */
export async function checkRandomizedModel(
  sample: ModelSample,
  evaluation: { eot: boolean },
): Promise<SanityFlag | null> {
  const { classifier } = sample;
  const k = classifier.numClasses;
  let largestDiff = 0;
  let largestLogit = 0;
  let changed = 0;
  await forEachBatch(
    sample,
    // One tensor per batch: [first pass | second pass] side by side.
    (xb) => tf.concat([classifier.logits(xb), classifier.logits(xb)], 1),
    (z, rows) => {
      for (let r = 0; r < rows; r++) {
        const first = z.subarray(r * 2 * k, r * 2 * k + k);
        const second = z.subarray(r * 2 * k + k, (r + 1) * 2 * k);
        for (let j = 0; j < k; j++) {
          largestDiff = Math.max(largestDiff, Math.abs(first[j] - second[j]));
          largestLogit = Math.max(largestLogit, Math.abs(first[j]));
        }
        if (argMax(first) !== argMax(second)) changed++;
      }
    },
  );
  if (!(largestDiff > RELATIVE_TOLERANCE * Math.max(1, largestLogit))) return null;
  const n = sample.x.shape[0];
  const detail =
    `Two forward passes on the same ${n} inputs give logits that differ by up to ${fmt(largestDiff)} ` +
    `(largest |logit| ${fmt(largestLogit)}); ${changed} of ${n} predictions changed.`;
  if (evaluation.eot) {
    return {
      id: 'randomized-model',
      severity: 'info',
      title: 'The model is randomized (evaluated with EOT)',
      detail,
      advice:
        'The evaluation averaged gradients over the randomness (EOT), as it should. The robust accuracy is ' +
        'itself random: report it over several seeds, and check that more EOT samples do not lower it.',
    };
  }
  return {
    id: 'randomized-model',
    severity: 'warning',
    title: 'The model is randomized and the evaluation used no EOT',
    detail,
    advice:
      'Evaluate with Expectation over Transformation (Athalye et al. 2018), averaging each gradient over many ' +
      "draws of the randomness: `advkit evaluate --suite rand` (AutoAttack's version 'rand': APGD-CE and " +
      'APGD-DLR, 20 passes per gradient) or --eot 20 with any suite (the eot option in the library). A ' +
      'single-draw gradient is noisy and a single pass can be a lucky draw, so the robustness is overstated; ' +
      'report the accuracy over several seeds.',
  };
}

function argMax(values: Float32Array): number {
  let best = 0;
  for (let j = 1; j < values.length; j++) if (values[j] > values[best]) best = j;
  return best;
}
