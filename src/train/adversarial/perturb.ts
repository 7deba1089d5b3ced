import type * as tf from '@tensorflow/tfjs-core';
import { BatchContext } from '../../attacks/attack-context.js';
import { iterativeAttack, type Objective, type StartPoint } from '../../attacks/iterative.js';
import type { Model } from '../../models/model.js';
import type { Rng } from '../../util/rng.js';
import type { AdversarialNorm } from './options.js';

export interface PerturbSettings {
  eps: number;
  norm: AdversarialNorm;
  steps: number;
  stepSize: number;
  /** true: uniform in the ball; a function: the method's own start (TRADES'); projected by the engine. */
  randomStart: boolean | StartPoint;
  /** What the steps ascend; the log-odds of the true class (attackObjective 'ce') by default. */
  loss?: Objective;
}

/**
 * The inner maximisation of adversarial training: PGD-AT (Madry et al. 2018), FGSM-RS (Wong et al. 2020, one
 * step) and TRADES (trades.ts, its KL as `loss`). The attacks' own iterative engine, untargeted, ascending the
 * log-odds of the true class unless `loss` says otherwise, with the model in inference mode, random start from
 * `rng`, and no early stop, so that every example runs all steps and the last iterate (projected onto the ball
 * and the bounds) is returned. The caller disposes the result.
 */
export async function perturbIterative(
  model: Model,
  x: tf.Tensor4D,
  labels: Int32Array,
  s: PerturbSettings,
  rng: Rng,
): Promise<tf.Tensor4D> {
  const ctx = new BatchContext({
    classifier: model,
    x,
    labels,
    targets: null,
    eps: s.eps,
    norm: s.norm,
    rng,
  });
  return iterativeAttack(ctx, {
    steps: s.steps,
    stepSize: s.stepSize,
    randomStart: s.randomStart,
    restarts: 1,
    loss: s.loss ?? 'ce',
    momentum: 0,
    earlyStop: false,
    l1Sparsity: 1,
  });
}
