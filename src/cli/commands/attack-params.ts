import { Option, type Command } from 'commander';
import type { Attack } from '../../attacks/types.js';
import { AdvkitError, invalidArgument } from '../../errors.js';
import {
  choiceValues,
  describeRange,
  fieldDefault,
  fieldDescription,
  fieldKind,
  parseParams,
  type Field,
  type Schema,
} from '../../util/schema.js';
import { fieldFromText } from '../../tasks/field-text.js';
import { flagFor } from '../../tasks/reproduce.js';

export { flagFor };

/**
 * The attack command's parameter flags, generated from the attack schemas (the single source of truth):
 * every parameter of every registered attack becomes one kebab-case flag (relStepSize -> --rel-step-size),
 * so attacks added to the registry get their flags without CLI changes. Values stay strings until the
 * chosen attack's schema checks them.
 */
export interface ParamFlag {
  /** The schema key, e.g. 'relStepSize'. */
  key: string;
  /** '--rel-step-size'. */
  flag: string;
  /** Where commander stores the value. */
  attribute: string;
  /** The attacks that take this parameter, with their field. */
  attacks: { name: string; field: Field }[];
}

export const PARAMETERS_HEADING = 'Attack parameters (which attacks take them: their defaults):';

/** One flag per distinct parameter name across `attacks`, in registry order. */
export function collectParamFlags(attacks: readonly Attack<Schema>[]): ParamFlag[] {
  const flags = new Map<string, ParamFlag>();
  for (const attack of attacks) {
    for (const [key, field] of Object.entries(attack.schema)) {
      const flag = flagFor(key);
      const entry = flags.get(key) ?? { key, flag, attribute: new Option(flag).attributeName(), attacks: [] };
      entry.attacks.push({ name: attack.name, field });
      flags.set(key, entry);
    }
  }
  return [...flags.values()];
}

function placeholder(flag: ParamFlag): string {
  const kinds = new Set(flag.attacks.map((a) => fieldKind(a.field)));
  if (kinds.size === 1 && kinds.has('boolean')) return '[true|false]';
  if (kinds.size === 1 && kinds.has('choice')) {
    const values = new Set(flag.attacks.flatMap((a) => choiceValues(a.field)));
    return `<${[...values].join('|')}>`;
  }
  return '<value>';
}

export function showDefault(field: Field): string {
  const d = fieldDefault(field);
  if (d === undefined) return 'none';
  return typeof d === 'number' ? String(Number(d.toPrecision(4))) : String(d);
}

/**
 * Adds the flags to the command under their own help heading. A parameter whose flag the command already
 * has (--seed, --norm, ...) is a bug in that attack's schema: it would be unreachable, so it fails loudly.
 */
export function addParamOptions(cmd: Command, flags: ParamFlag[]): void {
  const taken = new Set(cmd.options.map((o) => o.long));
  for (const flag of flags) {
    if (taken.has(flag.flag)) {
      const owners = flag.attacks.map((a) => a.name).join(', ');
      throw new AdvkitError(
        'INTERNAL',
        `The parameter '${flag.key}' of ${owners} would be ${flag.flag}, which the attack command already uses; rename it.`,
      );
    }
    const byDefault = new Map<string, string[]>();
    for (const a of flag.attacks)
      byDefault.set(showDefault(a.field), [...(byDefault.get(showDefault(a.field)) ?? []), a.name]);
    const defaults = [...byDefault].map(([d, names]) => `${names.join(', ')}: ${d}`).join('; ');
    const description = flag.attacks[0] === undefined ? '' : fieldDescription(flag.attacks[0].field);
    const option = new Option(
      `${flag.flag} ${placeholder(flag)}`,
      `${description} (default for ${defaults})`,
    ).helpGroup(PARAMETERS_HEADING);
    cmd.addOption(option);
  }
}

/** The attack's parameter flags, for messages: '--steps, --rel-step-size, ...'. */
export function flagsOf(attack: Attack<Schema>): string {
  const keys = Object.keys(attack.schema);
  return keys.length === 0 ? '(none)' : keys.map(flagFor).join(', ');
}

/** A flag's text as its field's kind (parseParams then names the flag and the expected range). */
function textValue(field: Field, raw: unknown): unknown {
  return typeof raw === 'string' ? fieldFromText(field, raw) : raw;
}

/**
 * The parameters given on the command line for `attack`, checked against its schema. A flag the attack does
 * not take is an error that lists the flags it does take. Missing parameters are left out (runAttack fills
 * in the defaults).
 */
export function paramsFromFlags(
  attack: Attack<Schema>,
  values: Readonly<Record<string, unknown>>,
  flags: readonly ParamFlag[],
): Record<string, unknown> {
  const given = flags.filter((f) => values[f.attribute] !== undefined);
  const foreign = given.filter((f) => !Object.hasOwn(attack.schema, f.key));
  if (foreign.length > 0) {
    throw invalidArgument(
      `${attack.name} does not take ${foreign.map((f) => f.flag).join(', ')}. Its parameters are: ${flagsOf(attack)}.`,
    );
  }
  // Checked under the flag names so that messages say '--steps', not 'steps'.
  const schemaByFlag: Schema = Object.fromEntries(
    Object.entries(attack.schema).map(([k, f]) => [flagFor(k), f]),
  );
  const input = Object.fromEntries(
    given.map((f) => [f.flag, textValue(attack.schema[f.key], values[f.attribute])]),
  );
  const checked = parseParams(schemaByFlag, input, attack.name);
  return Object.fromEntries(given.map((f) => [f.key, checked[f.flag]]));
}

/** What `advkit attacks` prints: each attack with its norms, budget kind and parameters. */
export function describeAttacks(attacks: readonly Attack<Schema>[]): string {
  const lines = ['Attacks (advkit attack --attack <name>; parameters are flags):', ''];
  for (const a of attacks) {
    lines.push(`${a.name}  ${a.title}`);
    const budget =
      a.budget === 'fixed' ? 'fixed (needs --eps)' : 'minimal (--eps optional: it only decides success)';
    lines.push(`  norms: ${a.norms.join(', ')}; budget: ${budget}; targeted: ${a.targeted ? 'yes' : 'no'}`);
    for (const [key, field] of Object.entries(a.schema)) {
      const kind = fieldKind(field);
      const range = kind === 'number' || kind === 'integer' ? `; ${describeRange(field)}` : '';
      const values = kind === 'choice' ? `; one of ${choiceValues(field).join(', ')}` : '';
      lines.push(
        `  ${flagFor(key)}  ${fieldDescription(field)} (default ${showDefault(field)}${range}${values})`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** The same as JSON. */
export function attacksAsJson(attacks: readonly Attack<Schema>[]): unknown {
  return attacks.map((a) => ({
    name: a.name,
    title: a.title,
    norms: a.norms,
    budget: a.budget,
    targeted: a.targeted,
    parameters: Object.entries(a.schema).map(([key, field]) => ({
      name: key,
      flag: flagFor(key),
      ...fieldJson(field),
    })),
  }));
}

/** A field as `advkit attacks --json` has always shown it: kind, description, default, range or values. */
function fieldJson(field: Field): Record<string, unknown> {
  const kind = fieldKind(field);
  const out: Record<string, unknown> = {
    kind,
    description: fieldDescription(field),
    default: fieldDefault(field),
  };
  const keyword = (name: string): unknown => Reflect.get(field, name);
  if (kind === 'choice') out.values = choiceValues(field);
  if (keyword('exclusiveMinimum') !== undefined) {
    out.min = keyword('exclusiveMinimum');
    out.exclusiveMin = true;
  } else if (keyword('minimum') !== undefined) out.min = keyword('minimum');
  if (keyword('maximum') !== undefined) out.max = keyword('maximum');
  out.hasDefault = out.default !== undefined;
  return out;
}
