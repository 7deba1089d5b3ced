import { Option, type Command } from 'commander';
import type { TObject, TSchema } from 'typebox';
import type { TaskInput } from '../tasks/task.js';
import { AdvkitError, invalidArgument } from '../errors.js';
import { fieldFromText } from '../tasks/field-text.js';
import { flagFor } from '../tasks/reproduce.js';
import { schemaKeyword } from '../tasks/spec.js';
import { checkValue, choiceValues, fieldKind, numberLimits, type Field } from '../util/schema.js';

/**
 * CLI flags generated from a task's spec schema (the single source of truth): every property becomes one
 * kebab-case flag (batchSize -> --batch-size) unless the schema names another ('x-flag'), its help is the
 * schema's description and default, and the values given are converted and checked against the same schema,
 * with messages that name the flag. A field annotated 'x-cli': false gets no flag. Commander holds no defaults: the task fills them in, so a surface cannot
 * disagree with another about a default.
 */
export interface SpecFlag {
  /** The spec key, e.g. 'batchSize'. */
  key: string;
  /** '--batch-size'. */
  flag: string;
  /** Where commander stores the value. */
  attribute: string;
  schema: TSchema;
}

function isField(schema: TSchema): schema is Field {
  const type = schemaKeyword(schema, 'type');
  return (
    Array.isArray(schemaKeyword(schema, 'enum')) || ['number', 'integer', 'boolean'].includes(String(type))
  );
}

function showValue(v: unknown): string {
  return typeof v === 'number' ? String(Number(v.toPrecision(4))) : String(v);
}

/** The option for one property: its flag, placeholder and help line. */
function optionFor(key: string, schema: TSchema): { option: Option; flag: string } {
  const named = schemaKeyword(schema, 'x-flag');
  const flag = typeof named === 'string' ? named : flagFor(key);
  const description = String(schemaKeyword(schema, 'description') ?? '');
  const d = schemaKeyword(schema, 'default');
  const help =
    d === undefined || typeof d === 'boolean' ? description : `${description} (default: ${showValue(d)})`;
  if (isField(schema) && fieldKind(schema) === 'boolean') {
    // A switch that is on by default is turned off with --no-<flag>; the others take an optional value.
    return d === true
      ? { option: new Option(`--no-${flag.slice(2)}`, description), flag }
      : { option: new Option(`${flag} [true|false]`, description), flag };
  }
  const placeholder = schemaKeyword(schema, 'x-placeholder');
  if (isField(schema) && fieldKind(schema) === 'choice') {
    return { option: new Option(`${flag} <${choiceValues(schema).join('|')}>`, help), flag };
  }
  const name = typeof placeholder === 'string' ? placeholder : 'value';
  return { option: new Option(`${flag} <${name}>`, help), flag };
}

/**
 * Adds an option to `cmd` for each property of `schema` except `omit`, in the schema's order, and returns
 * the flags for `specFromFlags`. `describe` overrides a property's help on this command.
 */
export function addSpecOptions(
  cmd: Command,
  schema: TObject,
  opts: { omit?: readonly string[]; describe?: Readonly<Record<string, string>>; group?: string } = {},
): SpecFlag[] {
  const flags: SpecFlag[] = [];
  for (const [key, prop] of Object.entries<TSchema>(schema.properties)) {
    // 'x-cli': false marks a field for programs only (raw nested inputs), which no flag could carry.
    if (opts.omit?.includes(key) || schemaKeyword(prop, 'x-cli') === false) continue;
    const { option, flag } = optionFor(key, prop);
    const custom = opts.describe?.[key];
    if (custom !== undefined) option.description = custom;
    if (opts.group !== undefined) option.helpGroup(opts.group);
    cmd.addOption(option);
    flags.push({ key, flag, attribute: option.attributeName(), schema: prop });
  }
  return flags;
}

/** A flag's text as its field's kind; what is not of the kind stays text, for the check to name. */
function fromText(flag: SpecFlag, raw: unknown): unknown {
  return isField(flag.schema) && typeof raw === 'string' ? fieldFromText(flag.schema, raw) : raw;
}

/**
 * The spec fields given on the command line, converted from text and checked under their flag names
 * ("--n must be an integer >= 1, got 0."). Flags not given are left out, so the task's defaults apply.
 */
export function specFromFlags(
  flags: readonly SpecFlag[],
  values: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of flags) {
    const raw = values[f.attribute];
    if (raw === undefined) continue;
    const value = fromText(f, raw);
    if (isField(f.schema)) {
      const kind = fieldKind(f.schema);
      out[f.key] =
        kind === 'number' || kind === 'integer'
          ? checkFlagNumber(f.flag, f.schema, value, raw)
          : checkValue(f.schema, value, f.flag);
      continue;
    }
    out[f.key] = value;
  }
  return out;
}

/**
 * A numeric flag checked against its field, in the words the CLI has always used: "--n must be a positive
 * integer, got '0'", "--lr must be > 0 and <= 100, got '0'", with the value quoted as typed.
 */
function checkFlagNumber(flag: string, schema: Field, value: unknown, raw: unknown): number {
  const integer = fieldKind(schema) === 'integer';
  const { min, max, exclusiveMin, exclusiveMax } = numberLimits(schema);
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!integer || Number.isSafeInteger(value)) &&
    (min === undefined || (exclusiveMin ? value > min : value >= min)) &&
    (max === undefined || (exclusiveMax ? value < max : value <= max));
  if (ok) return value;
  let expected: string;
  if (integer && min === 1 && !exclusiveMin && max === undefined) expected = 'a positive integer';
  else if (integer && min === 0 && !exclusiveMin && max === undefined) expected = 'an integer >= 0';
  else if (!integer && min === 0 && exclusiveMin && max === undefined)
    expected = 'a positive number (e.g. 0.3 or 8/255)';
  else if (min !== undefined || max !== undefined) {
    const parts: string[] = [];
    if (min !== undefined) parts.push(`${exclusiveMin ? '>' : '>='} ${min}`);
    if (max !== undefined) parts.push(`${exclusiveMax ? '<' : '<='} ${max}`);
    expected = (integer ? 'an integer ' : '') + parts.join(' and ');
  } else expected = integer ? 'an integer' : 'a number';
  throw invalidArgument(`${flag} must be ${expected}, got '${String(raw)}'.`);
}

/** The flag a user types for a spec key: a switch that is on by default is given as its --no- form. */
function typedFlag(f: SpecFlag): string {
  const off =
    isField(f.schema) && fieldKind(f.schema) === 'boolean' && schemaKeyword(f.schema, 'default') === true;
  return off ? `--no-${f.flag.slice(2)}` : f.flag;
}

/**
 * A task's error in the words of the command line. Tasks name options by their spec keys, quoted
 * ('attackStepSize'), and put the one at fault in details.option; a CLI user typed flags, so each quoted key
 * of the command becomes its flag (--attack-step-size). `extra` names run options that the command exposes as
 * flags of its own (resume -> --resume). Errors without details.option pass through unchanged.
 */
export function withFlagNames(
  err: unknown,
  flags: readonly SpecFlag[],
  extra: Readonly<Record<string, string>> = {},
): unknown {
  if (!(err instanceof AdvkitError) || typeof err.details?.option !== 'string') return err;
  const names = new Map<string, string>([...flags.map((f): [string, string] => [f.key, typedFlag(f)])]);
  for (const [key, flag] of Object.entries(extra)) names.set(key, flag);
  const message = err.message.replace(
    /'([A-Za-z][A-Za-z0-9]*)'/g,
    (quoted, key: string) => names.get(key) ?? quoted,
  );
  const flag = names.get(err.details.option);
  return new AdvkitError(err.code, message, { ...err.details, ...(flag !== undefined ? { flag } : {}) });
}

/**
 * The flags' values as a task's input. The keys come from the schema's own properties and each value was
 * checked against its field by `specFromFlags`, so the task's parseSpec only fills in defaults.
 */
export function taskInput<S extends TObject>(
  schema: S,
  values: Readonly<Record<string, unknown>>,
): TaskInput<S> {
  for (const key of Object.keys(values)) {
    if (!Object.hasOwn(schema.properties, key)) {
      throw invalidArgument(`'${key}' is not an option of this command.`);
    }
  }
  return values as TaskInput<S>;
}
