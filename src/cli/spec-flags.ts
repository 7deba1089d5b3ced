import { Option, type Command } from 'commander';
import type { TObject, TSchema } from 'typebox';
import { invalidArgument } from '../errors.js';
import { parseNumberText } from '../tasks/budgets.js';
import { schemaKeyword } from '../tasks/spec.js';
import { checkValue, fieldKind, choiceValues, type Field } from '../util/schema.js';

/**
 * CLI flags generated from a task's spec schema (the single source of truth): every property becomes one
 * kebab-case flag (batchSize -> --batch-size) unless the schema names another ('x-flag'), its help is the
 * schema's description and default, and the values given are converted and checked against the same schema,
 * with messages that name the flag. Commander holds no defaults: the task fills them in, so a surface cannot
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

export function flagFor(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
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
    if (opts.omit?.includes(key)) continue;
    const { option, flag } = optionFor(key, prop);
    const custom = opts.describe?.[key];
    if (custom !== undefined) option.description = custom;
    if (opts.group !== undefined) option.helpGroup(opts.group);
    cmd.addOption(option);
    flags.push({ key, flag, attribute: option.attributeName(), schema: prop });
  }
  return flags;
}

function fromText(flag: SpecFlag, raw: unknown): unknown {
  const schema = flag.schema;
  if (!isField(schema)) return raw;
  const kind = fieldKind(schema);
  if (kind === 'boolean') {
    if (raw === true || raw === false) return raw;
    const v = String(raw).toLowerCase();
    if (['true', 'yes', 'on', '1'].includes(v)) return true;
    if (['false', 'no', 'off', '0'].includes(v)) return false;
    throw invalidArgument(`${flag.flag} must be true or false, got '${String(raw)}'.`);
  }
  if (typeof raw !== 'string' || kind === 'choice') return raw;
  const n = parseNumberText(raw);
  return Number.isNaN(n) ? raw : n;
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
      // A negated switch (--no-sanity) stores false; a switch given alone stores true.
      out[f.key] = checkValue(f.schema, value, f.flag);
      continue;
    }
    out[f.key] = value;
  }
  return out;
}
