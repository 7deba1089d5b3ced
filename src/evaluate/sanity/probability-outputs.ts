import type { SanityFlag } from '../report-types.js';
import { fmt, forEachBatch, type ModelSample } from './model-sample.js';

/** Slack for float32 rounding of probabilities. */
const RANGE_SLACK = 1e-6;
/** A row of probabilities sums to 1 within this. */
const SUM_SLACK = 1e-3;

/**
 * Does the model return probabilities instead of logits? Attacks need logits: on probabilities the loss
 * saturates where the softmax does, gradients vanish and robustness is overstated (Carlini et al. 2019, "On
 * Evaluating Adversarial Robustness"; AutoAttack's check_range_output, Croce & Hein 2020). Flags when, on the
 * sample, every output lies in [0, 1], or every output is >= 0 and every row sums to 1.
 * Cost: one forward pass over the sample.
 */
export async function checkProbabilityOutputs(sample: ModelSample): Promise<SanityFlag | null> {
  let min = Infinity;
  let max = -Infinity;
  let worstSum = 0;
  const k = sample.classifier.numClasses;
  await forEachBatch(
    sample,
    (xb) => sample.classifier.logits(xb),
    (z, rows) => {
      for (let r = 0; r < rows; r++) {
        let sum = 0;
        for (let j = 0; j < k; j++) {
          const v = z[r * k + j];
          min = Math.min(min, v);
          max = Math.max(max, v);
          sum += v;
        }
        worstSum = Math.max(worstSum, Math.abs(sum - 1));
      }
    },
  );
  const nonNegative = min >= -RANGE_SLACK;
  const inUnit = nonNegative && max <= 1 + RANGE_SLACK;
  const sumsToOne = worstSum <= SUM_SLACK;
  if (!(inUnit || (nonNegative && sumsToOne))) return null;
  const n = sample.x.shape[0];
  const rows = sumsToOne
    ? `each row sums to 1 (largest deviation ${fmt(worstSum)})`
    : `rows do not sum to 1 (largest deviation ${fmt(worstSum)})`;
  return {
    id: 'probability-outputs',
    severity: 'warning',
    title: 'The model outputs probabilities, not logits',
    detail:
      `On ${n} inputs every output lies in [${fmt(min)}, ${fmt(max)}] and ${rows}: ` +
      'the outputs look like probabilities (a final softmax or sigmoid).',
    advice:
      'Give the attacks logits: remove the final softmax (advkit removes a final Softmax layer or softmax ' +
      'activation of a layers model when it loads one; for a graph model, pass graphOutputNode, the name of ' +
      "the Softmax node's input). On probabilities the losses saturate and their gradients vanish, which " +
      'overstates robustness.',
  };
}
