import { pgd } from '../../attacks/pgd.js';
import { runAttack } from '../../attacks/run-attack.js';
import type { SanityFlag } from '../report-types.js';
import type { AttackCheckInput } from './attack-check-input.js';
import { fmt, pct, plural } from './model-sample.js';

/** The stronger attack's budget (PGD-CE; Madry et al.'s step size 2.5 eps / steps). */
export interface ConvergenceBudget {
  steps: number;
  restarts: number;
}

/**
 * 200 steps x 2 random restarts: twice the steps of AutoAttack's APGD runs and five times Madry et al.'s PGD-40,
 * from fresh random starts; a converged suite should leave nothing for it.
 */
export const DEFAULT_CONVERGENCE_BUDGET: ConvergenceBudget = { steps: 200, restarts: 2 };
/** Flag when it breaks more than this share (and more than one) of the points. */
const BROKEN_SHARE = 0.02;

/**
 * Do more steps and restarts still lower accuracy? Re-attacks points the suite left robust with a stronger
 * PGD; if it breaks more than a few, the suite's attacks had not converged and robust accuracy is overstated
 * (Carlini et al. 2019, "On Evaluating Adversarial Robustness": verify that more iterations and restarts do not
 * change the result). `x` holds (a sample of) the points still robust at `eps`; `robustPoints` and `n` (how
 * many were still robust, out of how many evaluated) scale the finding to the whole evaluation.
 * Cost: at most steps x restarts gradients per point (400 by default).
 */
export async function checkNotConverged(
  input: AttackCheckInput & { eps: number; robustPoints: number; n: number; budget?: ConvergenceBudget },
): Promise<SanityFlag | null> {
  const { classifier, x, labels, norm, eps } = input;
  const budget = input.budget ?? DEFAULT_CONVERGENCE_BUDGET;
  const run = await runAttack(classifier, pgd, {
    x,
    labels,
    eps,
    norm,
    params: {
      steps: budget.steps,
      restarts: budget.restarts,
      relStepSize: 2.5 / budget.steps,
      randomStart: true,
    },
    batchSize: input.batchSize,
    seed: input.seed,
    eot: input.eot,
    keepAdversarial: false,
    signal: input.signal,
    onProgress: input.onProgress && ((p) => input.onProgress?.(p.fraction)),
  });
  const m = labels.length;
  const broken = run.results[0].predictions.reduce((s, p, i) => s + Number(p !== labels[i]), 0);
  if (broken <= 1 || broken <= BROKEN_SHARE * m) return null;
  const share = broken / m;
  const accuracy = input.robustPoints / input.n;
  return {
    id: 'not-converged',
    severity: 'warning',
    title: 'More steps and restarts still lower accuracy',
    detail:
      `At eps ${fmt(eps)}, PGD with ${budget.steps} steps and ${plural(budget.restarts, 'restart')} broke ${broken} of ` +
      `${m} points sampled from the ${input.robustPoints} the suite left robust (${pct(share)}): the robust ` +
      `accuracy ${pct(accuracy)} is overstated, by about ${pct(share * accuracy)} of the evaluated points if the ` +
      'sample is typical.',
    advice:
      "The suite's attacks had not converged: raise their steps and restarts (or use the standard suite, " +
      'AutoAttack) until more of either no longer lowers accuracy, and report that accuracy.',
  };
}
