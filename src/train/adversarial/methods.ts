import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError } from '../../errors.js';
import type { Rng } from '../../util/rng.js';
import { crossEntropyFromLogits } from '../loss.js';
import { scaledStepSize } from './eps-schedule.js';
import { freeMethod } from './free.js';
import type { ResolvedAdversarialOptions } from './options.js';
import { perturbIterative } from './perturb.js';
import { tradesLoss, tradesPerturb } from './trades.js';
import {
  inferenceLossAndHits,
  lossAndHits,
  statsVector,
  weightGradients,
  type MethodSetup,
  type MicroBatch,
  type MicroOutcome,
  type StepSettings,
  type TrainingMethod,
} from './training-method.js';

/** The TrainingMethod of an adversarial training configuration. */
export function adversarialMethod(adv: ResolvedAdversarialOptions, setup: MethodSetup): TrainingMethod {
  switch (adv.method) {
    case 'pgd':
      return iterativeMethod(setup, adv);
    case 'fgsm-rs':
      return iterativeMethod(setup, { ...adv, steps: 1 });
    case 'trades':
      return tradesMethod(setup, adv);
    case 'free':
      return freeMethod(setup, adv);
  }
}

function requireRng(step: StepSettings): Rng {
  if (step.rng === null) throw new AdvkitError('INTERNAL', 'An adversarial step got no random generator.');
  return step.rng;
}

interface IterativeConfig {
  eps: number;
  norm: 'linf' | 'l2';
  steps: number;
  stepSize: number;
  randomStart: boolean;
  cleanWeight: number;
}

/**
 * PGD-AT and FGSM-RS: the inner attack (inference mode) first, then the weight gradient of
 * (1 - w) * CE(adversarial) + w * CE(clean) in training mode.
 */
function iterativeMethod(setup: MethodSetup, adv: IterativeConfig): TrainingMethod {
  const { classifier, variables, labelSmoothing } = setup;
  const w = adv.cleanWeight;
  return {
    async micro(b: MicroBatch, step: StepSettings): Promise<MicroOutcome> {
      const rng = requireRng(step);
      const n = b.labels.length;
      const inferenceClean = w > 0 ? null : inferenceLossAndHits(classifier, b.x, b.y, labelSmoothing);
      let xAdv: tf.Tensor4D | null = null;
      try {
        xAdv =
          step.eps > 0
            ? await perturbIterative(
                classifier,
                b.x,
                b.labels,
                {
                  eps: step.eps,
                  norm: adv.norm,
                  steps: adv.steps,
                  stepSize: scaledStepSize(adv.stepSize, step.eps, adv.eps),
                  randomStart: adv.randomStart,
                },
                rng,
              )
            : b.x.clone();
        const input = xAdv;
        return weightGradients(variables, b, step, () => {
          const advLogits = classifier.logits(input, { training: true });
          const advCe = crossEntropyFromLogits(advLogits, b.y, { labelSmoothing });
          const advStats = lossAndHits(advLogits, b.y, labelSmoothing);
          if (inferenceClean !== null) {
            return { loss: advCe, stats: statsVector(advCe, n, advStats, inferenceClean, advStats) };
          }
          const cleanLogits = classifier.logits(b.x, { training: true });
          const cleanCe = crossEntropyFromLogits(cleanLogits, b.y, { labelSmoothing });
          const loss = tf.add<tf.Scalar>(tf.mul(advCe, 1 - w), tf.mul(cleanCe, w));
          const cleanStats = lossAndHits(cleanLogits, b.y, labelSmoothing);
          return { loss, stats: statsVector(loss, n, advStats, cleanStats, advStats) };
        });
      } finally {
        xAdv?.dispose();
        inferenceClean?.dispose();
      }
    },
    state: async () => ({}),
    restore: () => undefined,
    dispose: () => undefined,
  };
}

/**
 * TRADES: the KL maximisation (inference mode) first, then the weight gradient of
 * CE(clean) + beta * KL(clean || adversarial) in training mode.
 */
function tradesMethod(
  setup: MethodSetup,
  adv: { eps: number; norm: 'linf' | 'l2'; steps: number; stepSize: number; beta: number },
): TrainingMethod {
  const { classifier, variables, labelSmoothing } = setup;
  return {
    async micro(b: MicroBatch, step: StepSettings): Promise<MicroOutcome> {
      const rng = requireRng(step);
      const n = b.labels.length;
      const settings = {
        eps: step.eps,
        norm: adv.norm,
        steps: adv.steps,
        stepSize: scaledStepSize(adv.stepSize, step.eps, adv.eps),
      };
      const xAdv = step.eps > 0 ? await tradesPerturb(classifier, b.x, b.labels, settings, rng) : b.x.clone();
      try {
        return weightGradients(variables, b, step, () => {
          const cleanLogits = classifier.logits(b.x, { training: true });
          const advLogits = classifier.logits(xAdv, { training: true });
          const cleanCe = crossEntropyFromLogits(cleanLogits, b.y, { labelSmoothing });
          const loss = tradesLoss(cleanLogits, advLogits, cleanCe, adv.beta);
          const advStats = lossAndHits(advLogits, b.y, labelSmoothing);
          const cleanStats = lossAndHits(cleanLogits, b.y, labelSmoothing);
          return { loss, stats: statsVector(loss, n, advStats, cleanStats, advStats) };
        });
      } finally {
        xAdv.dispose();
      }
    },
    state: async () => ({}),
    restore: () => undefined,
    dispose: () => undefined,
  };
}
