import type { EpsResult, SanityFlag } from '../report-types.js';
import { fmt, pct } from './model-sample.js';

/**
 * Does robust accuracy rise with eps somewhere? A larger ball contains every perturbation of a smaller one, so
 * the true robust accuracy can only fall; a rise means the attacks missed adversarial points they could reach
 * (Carlini et al. 2019, "On Evaluating Adversarial Robustness": accuracy must decrease monotonically with the
 * budget). Each eps is compared with every smaller one; a rise of one example is tolerated (random starts),
 * more is flagged. Works on a saved report's `robust` too. Cost: none (reads the results).
 */
export function checkNonMonotoneEps(
  robust: readonly Pick<EpsResult, 'eps' | 'autoattack_acc'>[],
  n: number,
): SanityFlag | null {
  const sorted = [...robust].sort((a, b) => a.eps - b.eps);
  // The worst rise: from the lowest accuracy at a smaller eps to the accuracy at a larger one.
  let worst: { from: (typeof sorted)[number]; to: (typeof sorted)[number]; rise: number } | null = null;
  let lowest = sorted[0];
  for (const point of sorted.slice(1)) {
    const rise = point.autoattack_acc - lowest.autoattack_acc;
    if (point.eps > lowest.eps && (worst === null || rise > worst.rise))
      worst = { from: lowest, to: point, rise };
    if (point.autoattack_acc < lowest.autoattack_acc) lowest = point;
  }
  const examples = worst === null ? 0 : Math.round(worst.rise * n);
  if (worst === null || examples <= 1) return null;
  return {
    id: 'non-monotone-eps',
    severity: 'warning',
    title: 'Robust accuracy rises with eps',
    detail:
      `Robust accuracy rises from ${pct(worst.from.autoattack_acc)} at eps ${fmt(worst.from.eps)} to ` +
      `${pct(worst.to.autoattack_acc)} at eps ${fmt(worst.to.eps)} (${examples} of ${n} points), although the ` +
      'larger budget allows every perturbation of the smaller one.',
    advice:
      'The attacks missed adversarial points within their reach: give them more steps and restarts (or use ' +
      'the standard suite), and suspect gradient masking if the rise persists. The accuracy at the larger ' +
      'eps is overstated; it is at most the accuracy at the smaller one.',
  };
}
