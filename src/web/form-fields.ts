import {
  choiceValues,
  fieldDefault,
  fieldDescription,
  fieldKind,
  numberLimits,
  type FieldKind,
  type Schema,
} from '../util/schema.js';
import { fieldFromText } from '../tasks/field-text.js';

/**
 * The playground's parameter forms, generated from an attack's or a method's schema (the same one that makes
 * the CLI's flags and the HTTP API's validation): one control per field, labelled, with the schema's
 * description as help, its default, and its limits as the input's min/max. Pure descriptions here; main.ts
 * turns them into elements.
 */
export interface FormField {
  key: string;
  /** 'relStepSize' -> 'Rel step size'. */
  label: string;
  kind: FieldKind;
  help: string;
  default: number | boolean | string | undefined;
  /** For numbers: the limits the schema allows (exclusive ones still shown as the input's min/max). */
  min?: number;
  max?: number;
  /** 1 for integers, 'any' for other numbers. */
  step?: number | 'any';
  /** For choices: the allowed values. */
  choices?: readonly string[];
}

/** 'relStepSize' -> 'Rel step size'. */
export function fieldLabel(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The form of a schema, in the schema's order, without the fields in `omit`. */
export function formFields(schema: Schema, omit: readonly string[] = []): FormField[] {
  return Object.entries(schema)
    .filter(([key]) => !omit.includes(key))
    .map(([key, f]) => {
      const kind = fieldKind(f);
      const out: FormField = {
        key,
        label: fieldLabel(key),
        kind,
        help: fieldDescription(f),
        default: fieldDefault(f),
      };
      if (kind === 'number' || kind === 'integer') {
        const { min, max } = numberLimits(f);
        if (min !== undefined) out.min = min;
        if (max !== undefined) out.max = max;
        out.step = kind === 'integer' ? 1 : 'any';
      }
      if (kind === 'choice') out.choices = choiceValues(f);
      return out;
    });
}

/**
 * A form's values as the schema's parameters: text converted to each field's kind ('8/255' is a number),
 * empty fields and fields left at their default omitted, so the attack's own defaults apply. Values are not
 * checked here: the library checks them against the same schema and its message names the field.
 */
export function paramsFromForm(
  schema: Schema,
  values: Readonly<Record<string, string | boolean>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(schema)) {
    const raw = values[key];
    if (raw === undefined || raw === '') continue;
    const value = typeof raw === 'boolean' ? raw : fieldFromText(f, raw);
    if (value !== fieldDefault(f)) out[key] = value;
  }
  return out;
}
