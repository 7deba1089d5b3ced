import Type, {
  type Static,
  type TBoolean,
  type TEnum,
  type TInteger,
  type TNumber,
  type TOptional,
} from 'typebox';
import { invalidArgument } from '../errors.js';

/**
 * Parameter schemas: the single description of an options object from which the TypeScript type, the
 * validation (typed errors that name the bad value and what is allowed), the CLI flags, the HTTP validation,
 * the OpenAPI document and the playground's forms are all derived. A field is a plain JSON Schema built with
 * TypeBox (the schema library Fastify validates with), so `Type.Object(schema)` is the parameters' JSON Schema
 * as it is; the constructors below keep attack files short and give every field a description.
 */
export type NumberField = TNumber | TInteger;
export type OptionalNumberField = TOptional<TNumber> | TOptional<TInteger>;
export type ChoiceField = TEnum<string[]>;
export type Field = NumberField | OptionalNumberField | TBoolean | ChoiceField;
export type Schema = Readonly<Record<string, Field>>;

/** The parsed options: fields with a default are always present, the others may be undefined. */
export type Params<S extends Schema> = {
  readonly [K in keyof S]: S[K] extends TOptional<infer T> ? Static<T> | undefined : Static<S[K]>;
};

/** What a caller may pass: any subset of the fields. */
export type ParamsInput<S extends Schema> = {
  readonly [K in keyof S]?: S[K] extends TOptional<infer T> ? Static<T> : Static<S[K]>;
};

/** The kind of value a field holds, for messages, CLI flags and forms. */
export type FieldKind = 'number' | 'integer' | 'boolean' | 'choice';

interface NumberOptions {
  description: string;
  min?: number;
  max?: number;
  /** True when min itself is not allowed (e.g. a step size must be > 0). */
  exclusiveMin?: boolean;
  /** True when max itself is not allowed (e.g. a fraction must be < 1). */
  exclusiveMax?: boolean;
}

function numberKeywords(o: NumberOptions): Record<string, unknown> {
  const out: Record<string, unknown> = { description: o.description };
  if (o.min !== undefined) out[o.exclusiveMin === true ? 'exclusiveMinimum' : 'minimum'] = o.min;
  if (o.max !== undefined) out[o.exclusiveMax === true ? 'exclusiveMaximum' : 'maximum'] = o.max;
  return out;
}

function number(o: NumberOptions & { default: number }): TNumber;
function number(o: NumberOptions & { default?: undefined }): TOptional<TNumber>;
function number(o: NumberOptions & { default?: number }): TNumber | TOptional<TNumber> {
  return o.default === undefined
    ? Type.Optional(Type.Number(numberKeywords(o)))
    : Type.Number({ ...numberKeywords(o), default: o.default });
}

function integer(o: NumberOptions & { default: number }): TInteger;
function integer(o: NumberOptions & { default?: undefined }): TOptional<TInteger>;
function integer(o: NumberOptions & { default?: number }): TInteger | TOptional<TInteger> {
  return o.default === undefined
    ? Type.Optional(Type.Integer(numberKeywords(o)))
    : Type.Integer({ ...numberKeywords(o), default: o.default });
}

function boolean(o: { description: string; default: boolean }): TBoolean {
  return Type.Boolean({ description: o.description, default: o.default });
}

function choice<const T extends string>(
  values: readonly T[],
  o: { description: string; default: NoInfer<T> },
): TEnum<T[]> {
  return Type.Enum([...values], { description: o.description, default: o.default });
}

/** Field constructors: `field.integer({ default: 40, min: 1, description: 'iterations' })`. */
export const field = { number, integer, boolean, choice };

/** A JSON Schema keyword of a field (TypeBox's types do not index them). */
function keyword(f: Field, name: string): unknown {
  const value: unknown = Reflect.get(f, name);
  return value;
}

/** What kind of value `f` holds. */
export function fieldKind(f: Field): FieldKind {
  if (Array.isArray(keyword(f, 'enum'))) return 'choice';
  const type = keyword(f, 'type');
  if (type === 'boolean') return 'boolean';
  return type === 'integer' ? 'integer' : 'number';
}

/** The values a choice field allows ([] for other kinds). */
export function choiceValues(f: Field): readonly string[] {
  const values = keyword(f, 'enum');
  return Array.isArray(values) ? values.map(String) : [];
}

export function fieldDescription(f: Field): string {
  const d = keyword(f, 'description');
  return typeof d === 'string' ? d : '';
}

export function fieldDefault(f: Field): number | boolean | string | undefined {
  const d = keyword(f, 'default');
  return typeof d === 'number' || typeof d === 'boolean' || typeof d === 'string' ? d : undefined;
}

/**
 * Checks `input` against `schema` and fills in defaults. `owner` names the thing in messages
 * (e.g. "pgd"): "pgd: steps must be an integer >= 1, got 0.5."
 */
export function parseParams<S extends Schema>(
  schema: S,
  input: Readonly<Record<string, unknown>> | undefined,
  owner: string,
): Params<S> {
  const given = input ?? {};
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(schema, key)) {
      const known = Object.keys(schema).join(', ') || '(none)';
      throw invalidArgument(`${owner}: unknown parameter '${key}'. Its parameters are: ${known}.`, {
        parameter: key,
      });
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(schema)) {
    const value = given[key];
    out[key] = value === undefined ? fieldDefault(f) : checkValue(f, value, `${owner}: ${key}`);
  }
  // The loop above filled every key of S with a value checked against its field.
  return out as Params<S>;
}

/** Checks one value against its field; `name` starts the message ("pgd: steps", "--n"). */
export function checkValue(f: Field, value: unknown, name: string): unknown {
  switch (fieldKind(f)) {
    case 'boolean':
      if (typeof value !== 'boolean')
        throw invalidArgument(`${name} must be true or false, got ${show(value)}.`);
      return value;
    case 'choice': {
      const values = choiceValues(f);
      if (typeof value !== 'string' || !values.includes(value)) {
        throw invalidArgument(`${name} must be one of ${values.join(', ')}; got ${show(value)}.`);
      }
      return value;
    }
    case 'number':
    case 'integer':
      return checkNumber(f, value, name);
  }
}

export function numberLimits(f: Field): {
  min?: number;
  max?: number;
  exclusiveMin: boolean;
  exclusiveMax: boolean;
} {
  const num = (name: string): number | undefined => {
    const v = keyword(f, name);
    return typeof v === 'number' ? v : undefined;
  };
  const exclusive = num('exclusiveMinimum');
  const exclusiveMax = num('exclusiveMaximum');
  return {
    min: exclusive ?? num('minimum'),
    max: exclusiveMax ?? num('maximum'),
    exclusiveMin: exclusive !== undefined,
    exclusiveMax: exclusiveMax !== undefined,
  };
}

function checkNumber(f: Field, value: unknown, name: string): number {
  const expected = describeRange(f);
  const integerOnly = fieldKind(f) === 'integer';
  if (typeof value !== 'number' || !Number.isFinite(value) || (integerOnly && !Number.isSafeInteger(value))) {
    throw invalidArgument(`${name} must be ${expected}, got ${show(value)}.`);
  }
  const { min, max, exclusiveMin, exclusiveMax } = numberLimits(f);
  const belowMin = min !== undefined && (exclusiveMin ? value <= min : value < min);
  const aboveMax = max !== undefined && (exclusiveMax ? value >= max : value > max);
  if (belowMin || aboveMax) {
    throw invalidArgument(`${name} must be ${expected}, got ${value}.`);
  }
  return value;
}

/** "an integer >= 1", "a number > 0 and <= 1". */
export function describeRange(f: Field): string {
  const { min, max, exclusiveMin, exclusiveMax } = numberLimits(f);
  const integerOnly = fieldKind(f) === 'integer';
  const parts: string[] = [];
  if (min !== undefined) parts.push(`${exclusiveMin ? '>' : '>='} ${min}`);
  if (max !== undefined) parts.push(`${exclusiveMax ? '<' : '<='} ${max}`);
  const noun = integerOnly ? 'an integer' : 'a number';
  return parts.length === 0
    ? `a finite ${integerOnly ? 'integer' : 'number'}`
    : `${noun} ${parts.join(' and ')}`;
}

function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}
