/**
 * The words the playground says about a result: the live status region's one-line summary
 * ("FGSM eps 0.3: 7 -> 3 (success), L2 4.1, Linf 0.30"), the top-5 lists and budgets in /255. Pure, so the
 * text a screen reader hears is tested.
 */

/** Display names of the attacks (the registry's names are the CLI's). */
const ATTACK_TITLES: Readonly<Record<string, string>> = {
  fgsm: 'FGSM',
  bim: 'BIM',
  pgd: 'PGD',
  mifgsm: 'MI-FGSM',
  apgd: 'APGD',
  cw: 'C&W',
  deepfool: 'DeepFool',
  square: 'Square',
  patch: 'Patch',
};

export function attackTitle(name: string): string {
  return ATTACK_TITLES[name] ?? name;
}

/** A number shown with at most `digits` significant digits ('0.3', '4.1', '0.0314'). */
export function short(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return String(value);
  return String(Number(value.toPrecision(digits)));
}

/** A Linf budget on [0, 1]-like bounds also in /255 steps: '0.0314 (8/255)'; other budgets as they are. */
export function budgetText(eps: number, norm: string, bounds: readonly [number, number]): string {
  const range = bounds[1] - bounds[0];
  const steps = (eps / range) * 255;
  const whole = Math.abs(steps - Math.round(steps)) < 1e-3;
  if (norm !== 'linf' || !whole || eps === 0) return short(eps, 3);
  return `${short(eps, 3)} (${Math.round(steps)}/255)`;
}

export interface ClassScore {
  index: number;
  name: string;
  probability: number;
}

/** The k most probable classes, best first. */
export function topK(probabilities: ArrayLike<number>, classNames: readonly string[], k = 5): ClassScore[] {
  return Array.from(probabilities, (probability, index) => ({
    index,
    name: classNames[index] ?? String(index),
    probability,
  }))
    .sort((a, b) => b.probability - a.probability || a.index - b.index)
    .slice(0, k);
}

export interface AttackSummary {
  attack: string;
  /** Absent for a minimal attack run without a budget. */
  eps?: number;
  norm: string;
  /** The class names of the clean and the adversarial prediction. */
  clean: string;
  adversarial: string;
  success: boolean;
  l2: number;
  linf: number;
  /** The model's name, when two are compared. */
  model?: string;
  /** Words after the attack's name ('9px at (9, 9)' for a patch). */
  how?: string;
  /** The clean input was already misclassified: an untargeted attack succeeds with nothing to do. */
  cleanWrong?: boolean;
}

/** "FGSM eps 0.3: 7 -> 3 (success), L2 4.1, Linf 0.30" (norm named when it is not Linf). */
export function attackSummary(s: AttackSummary): string {
  const who = s.model !== undefined ? `${s.model}: ` : '';
  const norm =
    (s.how !== undefined ? ` ${s.how}` : '') + (s.norm === 'linf' ? '' : ` ${s.norm.toUpperCase()}`);
  const budget = s.eps !== undefined ? ` eps ${short(s.eps, 3)}` : '';
  const outcome = s.success
    ? s.cleanWrong === true
      ? 'success: already misclassified'
      : 'success'
    : 'failed';
  return (
    `${who}${attackTitle(s.attack)}${norm}${budget}: ${s.clean} -> ${s.adversarial} (${outcome}), ` +
    `L2 ${short(s.l2)}, Linf ${s.linf.toFixed(s.linf > 0 && s.linf < 0.1 ? 3 : 2)}`
  );
}

/** "Grad-CAM of 7 (clean) and 3 (adversarial)"; IG adds its completeness gaps. */
export function explainSummary(o: {
  method: string;
  clean: string;
  adversarial?: string;
  gaps?: readonly number[];
  model?: string;
}): string {
  const who = o.model !== undefined ? `${o.model}: ` : '';
  const titles: Readonly<Record<string, string>> = {
    saliency: 'Saliency',
    smoothgrad: 'SmoothGrad',
    'integrated-gradients': 'Integrated Gradients',
    gradcam: 'Grad-CAM',
  };
  const of = o.adversarial !== undefined ? `${o.clean} (clean) and ${o.adversarial} (adversarial)` : o.clean;
  const gaps =
    o.gaps !== undefined && o.gaps.length > 0
      ? `, completeness gap ${o.gaps.map((g) => short(g, 2)).join(' and ')}`
      : '';
  return `${who}${titles[o.method] ?? o.method} of ${of}${gaps}`;
}

/** Seconds or milliseconds, whichever reads better: '420 ms', '3.1 s'. */
export function durationText(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${short(ms / 1000, 2)} s`;
}
