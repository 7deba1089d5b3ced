import Type, { type Static, type TObject, type TSchema } from 'typebox';
import Value from 'typebox/value';
import { DEFENSE_TRANSFORMS } from '../defend/transforms/parse-defense.js';
import { invalidArgument } from '../errors.js';
import { checkValue, type Field } from '../util/schema.js';

/**
 * The pieces every task spec shares, as TypeBox schemas (JSON Schema): where the model and the data come from.
 * Keywords starting with 'x-' are annotations for the surfaces (OpenAPI's vendor-extension convention):
 * 'x-flag' names a CLI flag that differs from the kebab-case key, 'x-variadic' takes several values.
 */
export const modelFields = {
  model: Type.Optional(
    Type.String({ description: 'model directory or bundled model name', 'x-placeholder': 'dir' }),
  ),
  labels: Type.Optional(
    Type.String({
      description: 'class names for a model without advkit.json (txt, one per line, or JSON)',
      'x-placeholder': 'file',
    }),
  ),
};

/**
 * An input-transform defense in front of the model (`jpeg:75,bits:4`), for every task that predicts with or
 * attacks a model: the defended model is what it classifies, attacks (through BPDA and EOT) and explains.
 */
export const defenseField = Type.Optional(
  Type.String({
    description: `input-transform defense in front of the model, a chain such as jpeg:75,bits:4 (${DEFENSE_TRANSFORMS.map((t) => t.name).join(', ')}; none)`,
    'x-placeholder': 'chain',
  }),
);

export const datasetFields = {
  data: Type.Optional(
    Type.String({
      description: "dataset: mnist, fashion-mnist, cifar10, or an image folder (default: the model's)",
      'x-placeholder': 'name',
    }),
  ),
  dataDir: Type.Optional(
    Type.String({
      description:
        'where dataset files are (default: $ADVKIT_DATA, then the user cache, then the bundled sample)',
      'x-placeholder': 'dir',
    }),
  ),
  labelMap: Type.Optional(
    Type.String({
      description: 'image folder: class names and labels (e.g. imagenet_class_index.json)',
      'x-placeholder': 'file',
    }),
  ),
  split: Type.Enum(['train', 'test'], { description: 'dataset split: train or test', default: 'test' }),
};

/** The data of a task that works on image files or a dataset sample (predict, attack). */
export const sampleSourceFields = {
  data: Type.Optional(
    Type.String({
      description: 'dataset to sample: mnist, fashion-mnist, cifar10, or an image folder',
      'x-placeholder': 'name',
    }),
  ),
  dataDir: datasetFields.dataDir,
  labelMap: datasetFields.labelMap,
  split: datasetFields.split,
};

export const imagesField = {
  images: Type.Optional(
    Type.Array(Type.String(), {
      description: 'image file(s) (PNG, JPEG, WebP, ...), resized to the model input',
      'x-flag': '--image',
      'x-placeholder': 'files...',
    }),
  ),
};

/** A budget list: '0.1,0.2,0.3', '8/255', a number, or an array of numbers and fractions. */
export const epsField = Type.Union(
  [Type.String(), Type.Number(), Type.Array(Type.Union([Type.Number(), Type.String()]))],
  {
    description: 'budget(s) in input units: 0.3, 8/255, or a list 0.1,0.2,0.3',
    'x-placeholder': 'budgets',
  },
);

export const seedField = Type.Integer({
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'seed of every random choice',
});

export const batchSizeField = Type.Integer({
  minimum: 1,
  default: 128,
  description: 'examples per forward/backward pass',
});

/** A JSON Schema keyword of a property (TypeBox's types do not index them). */
export function schemaKeyword(schema: TSchema, name: string): unknown {
  const value: unknown = Reflect.get(schema, name);
  return value;
}

function isField(schema: TSchema): schema is Field {
  const type = schemaKeyword(schema, 'type');
  return (
    Array.isArray(schemaKeyword(schema, 'enum')) ||
    type === 'number' ||
    type === 'integer' ||
    type === 'boolean'
  );
}

/**
 * Checks a spec against its task's schema and fills in the defaults; `owner` names the task in messages
 * ("evaluate: n must be an integer >= 1, got 0."). Unknown keys are refused with the list of known ones.
 */
export function parseSpec<S extends TObject>(schema: S, input: unknown, owner: string): Static<S> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidArgument(`${owner}: the spec must be a JSON object, got ${JSON.stringify(input)}.`);
  }
  const given: Readonly<Record<string, unknown>> = Object.fromEntries(Object.entries(input));
  const properties: Readonly<Record<string, TSchema>> = schema.properties;
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(properties, key)) {
      throw invalidArgument(
        `${owner}: unknown option '${key}'. Its options are: ${Object.keys(properties).join(', ')}.`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(properties)) {
    const value = given[key];
    if (value === undefined) {
      const d = schemaKeyword(prop, 'default');
      if (d !== undefined) out[key] = d;
      continue;
    }
    out[key] = checkProperty(prop, value, `${owner}: ${key}`);
  }
  // Each value was checked against its own schema above; what is left of the object's schema is its required keys.
  // (Not a second Value.Check of the whole spec: on a server's raw `inputs` that doubled the check's cost.)
  const required: readonly string[] = Array.isArray(schema.required) ? schema.required : [];
  const missing = required.find((key) => out[key] === undefined);
  if (missing !== undefined) {
    const what = schemaKeyword(properties[missing], 'description');
    throw invalidArgument(
      `${owner}: '${missing}' is required${typeof what === 'string' ? ` (${what})` : ''}.`,
    );
  }
  return out as Static<S>;
}

function checkProperty(prop: TSchema, value: unknown, name: string): unknown {
  if (isField(prop)) return checkValue(prop, value, name);
  if (Value.Check(prop, value)) return value;
  const expected = schemaKeyword(prop, 'type') === 'array' ? 'a list' : describeType(prop);
  throw invalidArgument(`${name} must be ${expected}, got ${JSON.stringify(value)}.`);
}

function describeType(prop: TSchema): string {
  const type = schemaKeyword(prop, 'type');
  return typeof type === 'string' ? `a ${type}` : 'a valid value';
}
