import type { Norm } from '../attacks/types.js';
import { invalidArgument } from '../errors.js';

/** One attack of a suite: a registry attack with fixed parameters, under the name reports use. */
export interface SuiteEntry {
  name: string;
  /** Registry name of the attack it runs. */
  attack: string;
  params: Readonly<Record<string, unknown>>;
  /** Uses only the model's outputs (score- or decision-based); the gradient-masking check compares these. */
  blackBox: boolean;
  /** Passes averaged per gradient (EOT) for randomized models; 1 for none. Black-box entries keep 1. */
  eot: number;
}

export interface Suite {
  name: string;
  entries: readonly SuiteEntry[];
}

/**
 * The attacks suites are made of, with AutoAttack's settings (Croce & Hein 2020, "Reliable evaluation of
 * adversarial robustness with an ensemble of diverse parameter-free attacks", version 'standard'): APGD-CE with
 * 100 steps, APGD-T and FAB-T over the 9 highest-ranked other classes with 100 steps each, Square with 5000
 * queries; and PGD with Madry et al.'s 40 steps.
 */
const CATALOG: readonly Omit<SuiteEntry, 'eot'>[] = [
  { name: 'apgd-ce', attack: 'apgd', params: { loss: 'ce', steps: 100, restarts: 1 }, blackBox: false },
  { name: 'apgd-dlr', attack: 'apgd', params: { loss: 'dlr', steps: 100, restarts: 1 }, blackBox: false },
  { name: 'apgd-t', attack: 'apgd-t', params: { steps: 100, targetClasses: 9 }, blackBox: false },
  { name: 'fab-t', attack: 'fab-t', params: { steps: 100, targetClasses: 9 }, blackBox: false },
  { name: 'square', attack: 'square', params: { queries: 5000 }, blackBox: true },
  { name: 'pgd', attack: 'pgd', params: { steps: 40, restarts: 1 }, blackBox: false },
];

const NAMED: Readonly<Record<string, readonly string[]>> = {
  standard: ['apgd-ce', 'apgd-t', 'fab-t', 'square'],
  fast: ['apgd-ce', 'apgd-t'],
  pgd: ['pgd'],
  rand: ['apgd-ce', 'apgd-dlr'],
};

/** AutoAttack's version 'rand', for randomized defenses: each gradient averaged over 20 passes. */
const NAMED_EOT: Readonly<Record<string, number>> = { rand: 20 };

/** AutoAttack's L1 settings (Croce & Hein 2021, "Mind the box"): more restarts, fewer target classes. */
const L1_PARAMS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  'apgd-ce': { restarts: 5 },
  'apgd-t': { targetClasses: 5 },
};

/** Square has no L1 version here. */
const NORMS_OF: Readonly<Record<string, readonly Norm[]>> = { square: ['linf', 'l2'] };

export const SUITE_NAMES: readonly string[] = Object.keys(NAMED);
export const SUITE_ATTACKS: readonly string[] = CATALOG.map((e) => e.name);

/**
 * A suite by name ('standard', 'fast', 'pgd', 'rand') or a custom list of catalog names ('apgd-ce,square').
 * Attacks without a version for `norm` are left out of named suites and rejected in custom lists. `eot`, when
 * given, sets the passes per gradient of every white-box entry (Expectation over Transformation, for
 * randomized models); otherwise 'rand' uses 20 and the others 1.
 */
export function resolveSuite(spec: string | readonly string[], norm: Norm, eot?: number): Suite {
  if (eot !== undefined && !(Number.isInteger(eot) && eot >= 1)) {
    throw invalidArgument(`eot (passes averaged per gradient) must be an integer >= 1, got ${eot}.`);
  }
  const custom = typeof spec !== 'string' || !(spec in NAMED);
  const passes = eot ?? (typeof spec === 'string' ? (NAMED_EOT[spec] ?? 1) : 1);
  const names = typeof spec === 'string' ? (NAMED[spec] ?? splitList(spec)) : [...spec];
  if (names.length === 0) throw invalidArgument(suiteHelp('An empty suite was given.'));
  const seen = new Set<string>();
  const entries: SuiteEntry[] = [];
  for (const name of names) {
    const entry = CATALOG.find((e) => e.name === name);
    if (!entry) throw invalidArgument(suiteHelp(`Unknown suite or attack '${name}'.`));
    if (seen.has(name)) throw invalidArgument(`The suite lists '${name}' twice.`);
    seen.add(name);
    const norms = NORMS_OF[name];
    if (norms && !norms.includes(norm)) {
      if (custom)
        throw invalidArgument(`'${name}' has no ${norm} version (it supports ${norms.join(', ')}).`);
      continue;
    }
    entries.push({
      ...entry,
      params: norm === 'l1' ? { ...entry.params, ...L1_PARAMS[name] } : entry.params,
      eot: entry.blackBox ? 1 : passes,
    });
  }
  return { name: custom ? names.join(',') : String(spec), entries };
}

function splitList(spec: string): string[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function suiteHelp(problem: string): string {
  return `${problem} Expected a suite (${SUITE_NAMES.join(', ')}) or a comma-separated list of: ${SUITE_ATTACKS.join(', ')}.`;
}
