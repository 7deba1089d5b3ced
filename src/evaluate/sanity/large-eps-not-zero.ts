import { pgd } from '../../attacks/pgd.js';
import { runAttack } from '../../attacks/run-attack.js';
import type { Norm } from '../../attacks/types.js';
import type { SanityFlag } from '../report-types.js';
import type { AttackCheckInput } from './attack-check-input.js';
import { fmt, pct } from './model-sample.js';

/**
 * PGD for this check; early stop ends working runs within a few steps. Under L2 a sound model can need many: on the
 * PGD-trained MNIST CNN, 25 steps left 5 of 16 points at the box diameter, 100 steps none (normalised L2 steps
 * concentrate on few pixels, which the box then clips).
 */
const LARGE_EPS_ATTACK = { steps: 100, relStepSize: 0.1 } as const;
/** Flag when more than this share (and more than one point) survives. */
const SURVIVOR_SHARE = 0.05;

/**
 * A budget that reaches every point of the box [lo, hi]^d: its diameter in the norm (Linf: hi - lo; L2:
 * (hi - lo) sqrt(d); L1: (hi - lo) d).
 */
export function boxDiameter(norm: Norm, bounds: readonly [number, number], size: number): number {
  const range = bounds[1] - bounds[0];
  return norm === 'linf' ? range : norm === 'l2' ? range * Math.sqrt(size) : range * size;
}

/**
 * Does accuracy fall to ~0 when the budget covers the whole input box? With such a budget any input, an image
 * of another class included, is allowed, so a working gradient attack breaks every point; survivors mean the
 * attack cannot follow the model's gradient (Carlini et al. 2019, "On Evaluating Adversarial Robustness":
 * unbounded attacks must reach 100% success). Runs PGD (100 steps of 0.1 x eps, from the clean point: a random
 * start at this budget would be a random image and hide a useless gradient) on the given points; only those
 * classified correctly count. Flags when more than 5% and more than one of them survive.
 * Cost: at most 100 gradients per point (a few on a sound model, thanks to early stopping).
 */
export async function checkLargeEps(input: AttackCheckInput): Promise<SanityFlag | null> {
  const { classifier, x, labels, norm } = input;
  const eps = boxDiameter(norm, classifier.bounds, x.size / x.shape[0]);
  const run = await runAttack(classifier, pgd, {
    x,
    labels,
    eps,
    norm,
    params: { ...LARGE_EPS_ATTACK, randomStart: false },
    batchSize: input.batchSize,
    seed: input.seed,
    eot: input.eot,
    keepAdversarial: false,
    signal: input.signal,
    onProgress: input.onProgress && ((p) => input.onProgress?.(p.fraction)),
  });
  const [result] = run.results;
  let correct = 0;
  let survived = 0;
  for (let i = 0; i < labels.length; i++) {
    if (run.cleanPredictions[i] !== labels[i]) continue;
    correct++;
    if (result.predictions[i] === labels[i]) survived++;
  }
  if (correct === 0 || survived <= 1 || survived <= SURVIVOR_SHARE * correct) return null;
  const [lo, hi] = classifier.bounds;
  return {
    id: 'large-eps-not-zero',
    severity: 'warning',
    title: 'Accuracy is not ~0 at a budget that reaches every input',
    detail:
      `PGD (${LARGE_EPS_ATTACK.steps} steps) with ${norm} eps ${fmt(eps)}, enough to reach any input in ` +
      `[${fmt(lo)}, ${fmt(hi)}], left ${survived} of ${correct} correctly classified points ` +
      `(${pct(survived / correct)}) classified correctly; it should leave none.`,
    advice:
      'The attack cannot follow the gradient, so the robust accuracies above are not trustworthy: suspect ' +
      'masked gradients (non-differentiable or saturating steps, randomness). Use BPDA or EOT, or a ' +
      'black-box attack, and check the attack implementation and the input bounds.',
  };
}
