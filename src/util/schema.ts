import { invalidArgument } from '../errors.js';

/**
 * Parameter schemas: the single description of an options object from which the TypeScript type, the
 * validation (typed errors that name the bad value and what is allowed), the CLI flags and the playground's
 * forms are all derived (the zod idea, kept to the few kinds of values attacks and defenses take).
 */
interface FieldBase<T, Required extends boolean> {
  readonly description: string;
  readonly default: Required extends true ? T : T | undefined;
  /** Phantom marker so that the parsed type knows whether the value may be missing. */
  readonly hasDefault: Required;
}

export interface NumberField<R extends boolean = boolean> extends FieldBase<number, R> {
  readonly kind: 'number' | 'integer';
  readonly min?: number;
  readonly max?: number;
  /** True when min itself is not allowed (e.g. a step size must be > 0). */
  readonly exclusiveMin?: boolean;
}

export interface BooleanField<R extends boolean = boolean> extends FieldBase<boolean, R> {
  readonly kind: 'boolean';
}

export interface ChoiceField<T extends string = string, R extends boolean = boolean> extends FieldBase<T, R> {
  readonly kind: 'choice';
  readonly values: readonly T[];
}

export type Field = NumberField | BooleanField | ChoiceField;
export type Schema = Readonly<Record<string, Field>>;

type ValueOf<F> = F extends NumberField
  ? number
  : F extends BooleanField
    ? boolean
    : F extends ChoiceField<infer T>
      ? T
      : never;

/** The parsed options: fields with a default are always present, the others may be undefined. */
export type Params<S extends Schema> = {
  readonly [K in keyof S]: S[K] extends { hasDefault: true } ? ValueOf<S[K]> : ValueOf<S[K]> | undefined;
};

/** What a caller may pass: any subset of the fields. */
export type ParamsInput<S extends Schema> = { readonly [K in keyof S]?: ValueOf<S[K]> };

interface NumberOptions {
  description: string;
  min?: number;
  max?: number;
  exclusiveMin?: boolean;
}

function number(o: NumberOptions & { default: number }): NumberField<true>;
function number(o: NumberOptions & { default?: undefined }): NumberField<false>;
function number(o: NumberOptions & { default?: number }): NumberField {
  return { kind: 'number', hasDefault: o.default !== undefined, ...o, default: o.default };
}

function integer(o: NumberOptions & { default: number }): NumberField<true>;
function integer(o: NumberOptions & { default?: undefined }): NumberField<false>;
function integer(o: NumberOptions & { default?: number }): NumberField {
  return { kind: 'integer', hasDefault: o.default !== undefined, ...o, default: o.default };
}

function boolean(o: { description: string; default: boolean }): BooleanField<true> {
  return { kind: 'boolean', hasDefault: true, ...o };
}

function choice<const T extends string>(
  values: readonly T[],
  o: { description: string; default: NoInfer<T> },
): ChoiceField<T, true> {
  return { kind: 'choice', values, hasDefault: true, ...o };
}

/** Field constructors: `field.integer({ default: 40, min: 1, description: 'iterations' })`. */
export const field = { number, integer, boolean, choice };

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
    out[key] = value === undefined ? f.default : checkValue(f, value, `${owner}: ${key}`);
  }
  // The loop above filled every key of S with a value checked against its field.
  return out as Params<S>;
}

function checkValue(f: Field, value: unknown, name: string): unknown {
  switch (f.kind) {
    case 'boolean':
      if (typeof value !== 'boolean')
        throw invalidArgument(`${name} must be true or false, got ${show(value)}.`);
      return value;
    case 'choice':
      if (typeof value !== 'string' || !f.values.includes(value)) {
        throw invalidArgument(`${name} must be one of ${f.values.join(', ')}; got ${show(value)}.`);
      }
      return value;
    case 'number':
    case 'integer':
      return checkNumber(f, value, name);
  }
}

function checkNumber(f: NumberField, value: unknown, name: string): number {
  const expected = describeRange(f);
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (f.kind === 'integer' && !Number.isInteger(value))
  ) {
    throw invalidArgument(`${name} must be ${expected}, got ${show(value)}.`);
  }
  const belowMin = f.min !== undefined && (f.exclusiveMin === true ? value <= f.min : value < f.min);
  if (belowMin || (f.max !== undefined && value > f.max)) {
    throw invalidArgument(`${name} must be ${expected}, got ${value}.`);
  }
  return value;
}

/** "an integer >= 1", "a number > 0 and <= 1". */
export function describeRange(f: NumberField): string {
  const parts: string[] = [];
  if (f.min !== undefined) parts.push(`${f.exclusiveMin === true ? '>' : '>='} ${f.min}`);
  if (f.max !== undefined) parts.push(`<= ${f.max}`);
  const noun = f.kind === 'integer' ? 'an integer' : 'a number';
  return parts.length === 0
    ? `a finite ${f.kind === 'integer' ? 'integer' : 'number'}`
    : `${noun} ${parts.join(' and ')}`;
}

function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}
