import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError } from '../../errors.js';
import { crossEntropyFromLogits } from '../loss.js';
import { scaledStepSize } from './eps-schedule.js';
import { accurateCrossEntropy } from './softmax-gradients.js';
import {
  inferenceLossAndHits,
  lossAndHits,
  noStats,
  statsVector,
  type MicroBatch,
  type MicroOutcome,
  type StepSettings,
  weightGradients,
  type MethodSetup,
  type TrainingMethod,
} from './training-method.js';

/** Name of Free AT's perturbation in checkpoints. */
export const FREE_DELTA = 'freeDelta';

/**
 * Free adversarial training (Shafahi et al. 2019, "Adversarial Training for Free!", Algorithm 1). Each
 * replay of a batch is one forward/backward pass in training mode at x + delta (clipped to the bounds) that
 * gives both the weight gradient (the caller takes an optimizer step) and the perturbation's gradient g, with
 * delta <- clip(delta + stepSize * sign(g), -eps, eps). delta has one row per image of a step and carries over
 * from batch to batch (the paper's warm start); it starts at zero and is saved in checkpoints. One deviation:
 * delta is also projected onto the input box (delta <- clip(x + delta, bounds) - x). The reference code only
 * clamps x + delta, so a coordinate pushed past the box (MNIST's black background) gets a zero gradient and
 * stays there: on MNIST that left Free AT with almost no robustness.
 *
 * The adversarial cross-entropy's gradient is computed by accurateCrossEntropy, whose sign per example is the
 * log-odds' direction even on confident predictions (see softmax-gradients.ts). With cleanWeight w > 0 the
 * same pass also trains on w * CE(clean); the clean term does not move delta. Without it, the clean metrics
 * come from one inference-mode pass on the first replay of each batch.
 */
export function freeMethod(
  setup: MethodSetup,
  adv: { eps: number; stepSize: number; cleanWeight: number },
): TrainingMethod {
  const { classifier, variables, labelSmoothing } = setup;
  const [h, w, c] = classifier.inputShape;
  const [lo, hi] = classifier.bounds;
  const cw = adv.cleanWeight;
  // Created in a tidy so that the zeros it starts from are released (tidy keeps variables).
  const delta = tf.tidy(() => tf.variable(tf.zeros<tf.Rank.R4>([setup.imagesPerStep, h, w, c]), true));
  const all = [...variables, delta];
  return {
    async micro(b: MicroBatch, step: StepSettings): Promise<MicroOutcome> {
      const n = b.labels.length;
      const inferenceClean =
        cw > 0
          ? null
          : step.replay === 0
            ? inferenceLossAndHits(classifier, b.x, b.y, labelSmoothing)
            : noStats();
      try {
        const out = weightGradients(all, b, step, () => {
          const d: tf.Tensor4D = tf.slice(delta, [b.offset, 0, 0, 0], [n, h, w, c]);
          const advLogits = classifier.logits(tf.clipByValue(tf.add<tf.Tensor4D>(b.x, d), lo, hi), {
            training: true,
          });
          const advCe = tf.mean<tf.Scalar>(accurateCrossEntropy(advLogits, b.y, labelSmoothing));
          const advStats = lossAndHits(advLogits, b.y, labelSmoothing);
          if (inferenceClean !== null) {
            return { loss: advCe, stats: statsVector(advCe, n, advStats, inferenceClean, advStats) };
          }
          const cleanLogits = classifier.logits(b.x, { training: true });
          const cleanCe = crossEntropyFromLogits(cleanLogits, b.y, { labelSmoothing });
          const loss = tf.add<tf.Scalar>(tf.mul(advCe, 1 - cw), tf.mul(cleanCe, cw));
          return {
            loss,
            stats: statsVector(loss, n, advStats, lossAndHits(cleanLogits, b.y, labelSmoothing), advStats),
          };
        });
        const gDelta = out.grads.pop();
        if (gDelta === undefined) throw new AdvkitError('INTERNAL', 'Free AT got no perturbation gradient.');
        const stepSize = scaledStepSize(adv.stepSize, step.eps, adv.eps);
        tf.tidy(() => {
          // The sign step on this micro-batch's rows, then the projection onto the ball and the input box
          // (delta <- clip(x + delta) - x, as PGD projects), so that x + delta never sits outside the box where
          // the clipped input has a zero gradient and delta could not move again.
          const rows: tf.Tensor4D = tf.slice(delta, [b.offset, 0, 0, 0], [n, h, w, c]);
          const g = tf.slice(gDelta, [b.offset, 0, 0, 0], [n, h, w, c]);
          const moved = tf.clipByValue(tf.add(b.x, tf.add(rows, tf.mul(tf.sign(g), stepSize))), lo, hi);
          const projected = tf.clipByValue(tf.sub<tf.Tensor4D>(moved, b.x), -step.eps, step.eps);
          const parts: tf.Tensor4D[] = [projected];
          if (b.offset > 0) parts.unshift(tf.slice(delta, [0, 0, 0, 0], [b.offset, h, w, c]));
          const end = b.offset + n;
          if (end < setup.imagesPerStep)
            parts.push(tf.slice(delta, [end, 0, 0, 0], [setup.imagesPerStep - end, h, w, c]));
          delta.assign(parts.length === 1 ? projected : tf.concat4d(parts, 0));
        });
        gDelta.dispose();
        return out;
      } finally {
        inferenceClean?.dispose();
      }
    },
    async state() {
      return { [FREE_DELTA]: [Float32Array.from(await delta.data<'float32'>())] };
    },
    restore(state) {
      const values = state[FREE_DELTA]?.[0];
      if (values === undefined || values.length !== delta.size) {
        throw new AdvkitError(
          'CORRUPT_DATA',
          `The checkpoint has no Free AT perturbation of ${delta.size} values (got ${values?.length ?? 'none'}).`,
        );
      }
      tf.tidy(() => delta.assign(tf.tensor4d(values, delta.shape, 'float32')));
    },
    dispose() {
      delta.dispose();
    },
  };
}
