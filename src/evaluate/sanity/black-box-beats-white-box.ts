import { invalidArgument } from '../../errors.js';
import type { AttackStepRecord, SanityFlag } from '../report-types.js';
import { fmt, pct, plural } from './model-sample.js';

/** An attack of the suite and whether it uses only the model's outputs (score- or decision-based). */
export interface SuiteAttackKind {
  name: string;
  blackBox: boolean;
}

/**
 * Did a black-box attack break points that every white-box attack before it missed? An attack that sees the
 * gradient should find whatever a query-only attack finds; when it does not, the gradients mislead (masked or
 * obfuscated gradients: Carlini et al. 2019, "On Evaluating Adversarial Robustness"; AutoAttack's
 * check_square_sr, Croce & Hein 2020). Reads each eps's per-attack records (in suite order; an EpsResult fits); black-box
 * attacks with no white-box attack before them are not compared. A 'warning' when some black-box attack broke
 * more than one such point at some eps, an 'info' when it broke one. Works on a saved report's `robust` too.
 * Cost: none (reads the results).
 */
export function checkBlackBoxBeatsWhiteBox(
  robust: readonly { eps: number; by_attack: readonly AttackStepRecord[] }[],
  attacks: readonly SuiteAttackKind[],
): SanityFlag | null {
  const kinds = new Map(attacks.map((a) => [a.name, a.blackBox]));
  const findings: string[] = [];
  let most = 0;
  for (const point of robust) {
    const whiteBox: string[] = [];
    point.by_attack.forEach((step, k) => {
      const blackBox = kinds.get(step.name);
      if (blackBox === undefined) {
        throw invalidArgument(
          `The results name an attack '${step.name}' that is not in the suite (${attacks.map((a) => a.name).join(', ')}).`,
        );
      }
      if (blackBox && whiteBox.length > 0 && step.newly_broken > 0) {
        most = Math.max(most, step.newly_broken);
        findings.push(
          `At eps ${fmt(point.eps)}, ${step.name} broke ${plural(step.newly_broken, 'point')} that ${whiteBox.join(', ')} left robust ` +
            `(accuracy ${pct(point.by_attack[k - 1].accuracy_after)} -> ${pct(step.accuracy_after)}).`,
        );
      }
      if (!blackBox) whiteBox.push(step.name);
    });
  }
  if (findings.length === 0) return null;
  return {
    id: 'black-box-beats-white-box',
    severity: most > 1 ? 'warning' : 'info',
    title: 'A black-box attack beat the white-box attacks',
    detail: findings.join(' '),
    advice:
      'Gradient-based attacks should find what a query-only attack finds; here the gradients likely mislead ' +
      '(gradient masking). Evaluate with attacks adapted to the defense: BPDA for non-differentiable steps, ' +
      'EOT for randomness, other losses and more restarts; trust the worst case over all attacks.',
  };
}
