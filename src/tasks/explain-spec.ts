import { inputsField } from './predict-spec.js';
import Type, { type TSchema } from 'typebox';
import { NORMS } from '../attacks/types.js';
import { METHODS } from '../explain/registry.js';
import type { AttributionMethod } from '../explain/types.js';
import type { Schema } from '../util/schema.js';
import { flagFor } from './reproduce.js';
import { imagesField, defenseField, modelFields, sampleSourceFields, schemaKeyword } from './spec.js';

/** What explain does when the spec does not say. */
export const EXPLAIN_DEFAULTS = {
  methods: 'saliency,smoothgrad,ig,gradcam',
  n: 8,
  /** Rows per pass for small inputs... */
  batchSize: 64,
  /** ...and input values per pass (rows x h x w x c) for large ones: 16 rows of 224x224x3 images. */
  batchValues: 16 * 224 * 224 * 3,
} as const;

/**
 * Rows per pass when the spec does not say: 64 for small images, fewer for large ones, so that a pass of
 * 224x224 ImageNet images (16 rows) stays within the wasm heap (64 rows of them do not).
 */
export function defaultExplainBatch(inputShape: readonly [number, number, number]): number {
  const values = inputShape[0] * inputShape[1] * inputShape[2];
  return Math.max(1, Math.min(EXPLAIN_DEFAULTS.batchSize, Math.floor(EXPLAIN_DEFAULTS.batchValues / values)));
}

/** The classes a spec may name as its target besides a class name or index. */
export const EXPLAIN_TARGETS = ['predicted', 'original', 'label'] as const;

/** A comma-separated text (a CLI flag) or a JSON list. */
const listOf = (o: { description: string; flag?: string; placeholder: string; default?: string }) =>
  Type.Union([Type.String(), Type.Array(Type.String())], {
    description: o.description,
    'x-placeholder': o.placeholder,
    ...(o.flag !== undefined ? { 'x-flag': o.flag } : {}),
    ...(o.default !== undefined ? { default: o.default } : {}),
  });

/** The task's own options (the methods' parameters follow, generated from their schemas). */
const taskFields = {
  model: Type.Optional(
    listOf({
      description:
        'model directory or bundled name; several, comma-separated, are explained on the same inputs, their ' +
        'rows side by side (e.g. cifar-cnn,cifar-cnn-robust)',
      placeholder: 'dirs',
    }),
  ),
  labels: modelFields.labels,
  defense: defenseField,
  images: Type.Optional({
    ...imagesField.images,
    description: 'image file(s) to explain (PNG, JPEG, WebP, ...), resized to the model input',
  }),
  inputs: inputsField,
  ...sampleSourceFields,
  n: Type.Integer({
    minimum: 1,
    default: EXPLAIN_DEFAULTS.n,
    description: '--data: inputs to explain, the first n (or a seeded random n with --seed)',
    'x-placeholder': 'count',
  }),
  seed: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      description:
        'seed of the noise (SmoothGrad, uniform IG baselines), the attack, the patch placement and the sample ' +
        '(default: the first n, seed 0)',
      'x-placeholder': 'seed',
    }),
  ),
  methods: listOf({
    description: `attribution methods, comma-separated: ${METHODS.map((m) => m.name).join(', ')}`,
    flag: '--method',
    placeholder: 'list',
    default: EXPLAIN_DEFAULTS.methods,
  }),
  target: Type.String({
    default: 'predicted',
    description:
      "the class explained: 'predicted' (the prediction on that row, so the adversarial prediction on an " +
      "adversarial row), 'original' (the clean input's prediction, on every row), 'label' (the dataset's " +
      'label), or a class name or index',
    'x-placeholder': 'class',
  }),
  layer: Type.Optional(
    Type.String({
      description:
        'gradcam: the layer (layers model) or graph node (graph model) it reads (default: the last 4-D activation)',
      'x-placeholder': 'name',
    }),
  ),
  attack: Type.Optional(
    Type.String({
      description:
        'also explain each input attacked, in the row under it: an attack with optional parameters after ' +
        'colons, e.g. pgd or pgd:steps=20 (see advkit attacks)',
      'x-placeholder': 'attack',
    }),
  ),
  norm: Type.Optional(
    Type.Enum([...NORMS], { description: `--attack's norm: ${NORMS.join(', ')} (default: linf)` }),
  ),
  eps: Type.Optional(
    Type.Union([Type.String(), Type.Number()], {
      description: "--attack's budget in input units, e.g. 2/255 or 0.5",
      'x-placeholder': 'budget',
    }),
  ),
  patch: Type.Optional(
    Type.String({
      description:
        'also explain each input with this patch (a PNG from advkit patch) pasted at a seeded random place, in ' +
        'the row under it',
      'x-placeholder': 'file',
    }),
  ),
  patchSize: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      description:
        "the patch's side as a fraction of the image side (default: the file's own size in pixels)",
      'x-placeholder': 'fraction',
    }),
  ),
  batchSize: Type.Optional(
    Type.Integer({
      minimum: 1,
      description:
        `rows per forward or backward pass, noise samples and IG steps included (default: ${EXPLAIN_DEFAULTS.batchSize}, ` +
        'fewer for large inputs: 16 at 224x224x3)',
      'x-placeholder': 'count',
    }),
  ),
  faithfulness: Type.Boolean({
    default: false,
    description:
      "score every map by deletion and insertion (Petsiuk et al. 2018): the target logit as the map's pixels " +
      'are removed from the input, or put back into a blurred one, next to the same in random order',
  }),
  sanity: Type.Boolean({
    default: false,
    description:
      'the model-parameter randomization test of every method on the clean inputs (Adebayo et al. 2018): the ' +
      "layers re-drawn from the logits down; a method passes when its maps stop resembling the trained model's",
  }),
  picture: Type.Boolean({ default: true, description: 'render the picture, the artifact explain.png' }),
  saveMaps: Type.Boolean({
    default: false,
    description: 'the raw maps as NumPy .npy artifacts (maps/<method>.npy)',
  }),
};

/** A method parameter as an option of the task: its spec key, and which methods take it under which name. */
export interface MethodParamOption {
  /** The spec key ('samples'; 'igMethod' where the parameter's own name is taken). */
  key: string;
  /** The parameter's name in the methods' schemas. */
  param: string;
  methods: string[];
}

const camel = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * One option per method parameter, from the methods' own schemas (their defaults, ranges and help): a
 * parameter keeps its name unless the task already has an option or flag of that name, or two methods give the
 * same name different meanings; then it is prefixed with its method (IG's 'method' is 'igMethod', --ig-method).
 */
function methodParamOptions(methods: readonly AttributionMethod<Schema>[]): {
  options: MethodParamOption[];
  properties: Record<string, TSchema>;
} {
  const taken = new Set(
    Object.entries<TSchema>(taskFields).flatMap(([key, prop]) => {
      const flag = schemaKeyword(prop, 'x-flag');
      return [key, typeof flag === 'string' ? camel(flag.slice(2)) : key];
    }),
  );
  const byName = new Map<string, { field: TSchema; methods: string[] }[]>();
  for (const m of methods) {
    for (const [param, field] of Object.entries<TSchema>(m.schema)) {
      const meanings = byName.get(param) ?? [];
      const same = meanings.find((x) => x.field === field);
      if (same !== undefined) same.methods.push(m.name);
      else meanings.push({ field, methods: [m.name] });
      byName.set(param, meanings);
    }
  }
  const options: MethodParamOption[] = [];
  const properties: Record<string, TSchema> = {};
  for (const [param, meanings] of byName) {
    for (const { field, methods: names } of meanings) {
      const prefixed = taken.has(param) || meanings.length > 1;
      const key = prefixed ? camel(names[0]) + param[0].toUpperCase() + param.slice(1) : param;
      const description = `${names.join(', ')}: ${String(schemaKeyword(field, 'description') ?? '')}`;
      const copy: TSchema = { ...field, description };
      properties[key] = Type.IsOptional(field) ? Type.Optional(copy) : copy;
      options.push({ key, param, methods: names });
    }
  }
  return { options, properties };
}

const generated = methodParamOptions(METHODS);

/** The methods' parameters as options of the task, in registry order. */
export const EXPLAIN_METHOD_PARAMS: readonly MethodParamOption[] = generated.options;

/**
 * The explain task's spec: attribution maps of image files or a dataset sample, by one or more methods, under
 * one or more models, for each clean input and (with an attack or a patch) its adversarial or patched version.
 * Each method's parameters are options here, generated from the method's own schema (one set of defaults for
 * the library, the CLI's flags and any other surface); a parameter is given once and goes to every method that
 * takes it (--samples to smoothgrad and smoothgrad-sq).
 */
export const explainSchema = Type.Object({ ...taskFields, ...generated.properties });

/** The flag of a spec key, as the CLI spells it. */
export function explainFlag(key: string): string {
  const prop: TSchema | undefined = Reflect.get(explainSchema.properties, key);
  const flag = prop === undefined ? undefined : schemaKeyword(prop, 'x-flag');
  return typeof flag === 'string' ? flag : flagFor(key);
}
