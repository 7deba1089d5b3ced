import type { Norm } from '../attacks/types.js';
import { invalidArgument } from '../errors.js';

/** A budget as a number and as the user wrote it ('8/255'). */
export interface Budget {
  value: number;
  text: string;
}

/**
 * Budgets used when none are given, by the dataset a model was trained on and the norm: the one definition
 * that evaluate, compare and the surfaces share. MNIST's Linf 0.3 and CIFAR-10's 8/255 are the standard
 * budgets of Madry et al. 2018 and RobustBench; L2 and L1 follow AutoAttack's settings.
 */
export const DEFAULT_EPS: Readonly<Record<string, Readonly<Record<Norm, string>>>> = {
  mnist: { linf: '0.1,0.2,0.3', l2: '1,2,3', l1: '5,10,15' },
  cifar10: { linf: '2/255,4/255,8/255', l2: '0.25,0.5,1', l1: '6,12' },
};

/** A finite number, also written as a fraction such as 8/255; NaN when the text is neither. */
export function parseNumberText(text: string): number {
  const m = /^\s*([-+]?[0-9]*\.?[0-9]+(?:e[-+]?\d+)?)\s*(?:\/\s*([0-9]*\.?[0-9]+(?:e[-+]?\d+)?))?\s*$/i.exec(
    text,
  );
  return m ? (m[2] !== undefined ? Number(m[1]) / Number(m[2]) : Number(m[1])) : NaN;
}

export interface BudgetRules {
  /** How the option is named in messages ('--eps', 'eps'). */
  name?: string;
  /** Allow eps 0 (the clean accuracy); evaluate refuses it. */
  allowZero?: boolean;
  /** The model's bounds: a Linf budget beyond hi - lo is refused (it is the whole box). */
  bounds?: readonly [number, number];
  norm?: Norm;
}

/**
 * The one eps parser and validator: '0.3', '8/255', '0.1,0.2,0.3', a number, or an array of numbers and
 * fractions. The budgets come back sorted ascending and without repeats, each with the text the user wrote,
 * so every table, row and progress bar labels a value with its own text whatever order it was typed in.
 */
export function parseBudgets(
  input: string | number | readonly (number | string)[],
  rules: BudgetRules = {},
): Budget[] {
  const name = rules.name ?? '--eps';
  const parts: (number | string)[] =
    typeof input === 'string'
      ? input.split(',').map((p) => p.trim())
      : typeof input === 'number'
        ? [input]
        : [...input];
  if (parts.length === 0 || parts.some((p) => p === '')) {
    throw invalidArgument(
      `${name} must list at least one budget, e.g. 0.3 or 8/255 or 0.1,0.2,0.3; got '${String(input)}'.`,
    );
  }
  const budgets = parts.map((p): Budget => {
    const value = typeof p === 'number' ? p : parseNumberText(p);
    const text = typeof p === 'number' ? String(p) : p;
    if (!Number.isFinite(value)) {
      throw invalidArgument(
        `${name} must be a number, a fraction such as 8/255, or a comma-separated list of them; got '${String(input)}'.`,
      );
    }
    if (value < 0 || (value === 0 && rules.allowZero === false)) {
      throw invalidArgument(
        rules.allowZero === false
          ? `${name} must be positive: robust accuracy at eps 0 is the clean accuracy; got '${text}'.`
          : `${name} must be >= 0, got '${text}'.`,
      );
    }
    return { value, text };
  });
  if (rules.bounds !== undefined && rules.norm !== undefined) {
    assertBudgetsFit(budgets, rules.bounds, rules.norm, name);
  }
  const sorted = budgets.sort((a, b) => a.value - b.value);
  return sorted.filter((b, i) => i === 0 || b.value !== sorted[i - 1].value);
}

/** A Linf budget beyond the model's input range is the whole box: refused, naming the range. */
export function assertBudgetsFit(
  budgets: readonly Budget[],
  bounds: readonly [number, number],
  norm: Norm,
  name = '--eps',
): void {
  const range = bounds[1] - bounds[0];
  const over = norm === 'linf' ? budgets.find((b) => b.value > range) : undefined;
  if (over !== undefined) {
    throw invalidArgument(
      `${name} ${over.text} is larger than the model's input range [${bounds.join(', ')}]: a Linf budget must be <= ${range}.`,
    );
  }
}

/**
 * The budgets for a dataset and norm when none are given, in the units of a model with these bounds; an error
 * that says to give them otherwise.
 */
export function defaultBudgets(
  dataset: string,
  norm: Norm,
  bounds: readonly [number, number] = [0, 1],
  name = '--eps',
): Budget[] {
  const text = DEFAULT_EPS[dataset]?.[norm];
  if (text === undefined) {
    throw invalidArgument(
      `Give ${name}: there are no default budgets for ${norm} on '${dataset}' (defaults exist for ${Object.keys(DEFAULT_EPS).join(', ')}); e.g. ${name} 8/255 or ${name} 0.5,1.`,
    );
  }
  // The table is in [0, 1] pixel units; a model on [-1, 1] or [0, 255] gets the same budgets in its own units.
  const range = bounds[1] - bounds[0];
  const budgets = parseBudgets(text, { name });
  return range === 1
    ? budgets
    : budgets.map((b) => {
        const value = b.value * range;
        return { value, text: String(Number(value.toPrecision(6))) };
      });
}

/** The text of the budget with this value ('8/255'), or the value itself. */
export function budgetText(value: number, budgets: readonly Budget[] | undefined): string {
  return budgets?.find((b) => b.value === value)?.text ?? String(Number(value.toPrecision(4)));
}
