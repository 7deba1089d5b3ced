import type { TObject, TSchema } from 'typebox';
import { DATASET_NAMES } from '../data/node/load-dataset.js';
import { invalidArgument } from '../errors.js';
import { attackSchema } from '../tasks/attack-spec.js';
import { evaluateSchema } from '../tasks/evaluate-spec.js';
import { explainSchema } from '../tasks/explain-spec.js';
import { predictSchema } from '../tasks/predict-spec.js';
import { schemaKeyword } from '../tasks/spec.js';
import type { ModelCatalog } from './model-catalog.js';

/** The tasks a client may run through the server. */
export type ServedTask = 'predict' | 'attack' | 'explain' | 'evaluate';

export const TASK_SCHEMAS: Readonly<Record<ServedTask, TObject>> = {
  predict: predictSchema,
  attack: attackSchema,
  explain: explainSchema,
  evaluate: evaluateSchema,
};

/**
 * Fields that name a file or folder on the machine that runs the task. On the CLI they are the user's own
 * files; from a client they would let anyone read (labels, images, dataDir) or write (out) the server's disk,
 * so they are refused whatever their value. `out` is not a task field today; it is listed so that a task that
 * grows one stays closed.
 */
const PATH_KEYS = new Set(['dataDir', 'labels', 'labelMap', 'images', 'out', 'patch', 'stateDir']);
/** The CLI placeholders of path fields: a new path field of a task schema is refused without editing this file. */
const PATH_PLACEHOLDERS = new Set(['dir', 'dirs', 'file', 'files', 'files...', 'path']);
/** Fields that name a model: a client gives a served model's name, which the catalog turns into its directory. */
const MODEL_KEYS = new Set(['model', 'transferTo']);

/** Whether a task field holds a server path (by name, or by its schema's placeholder). */
export function isPathField(key: string, prop: TSchema): boolean {
  if (MODEL_KEYS.has(key)) return false;
  if (PATH_KEYS.has(key)) return true;
  const placeholder = schemaKeyword(prop, 'x-placeholder');
  return typeof placeholder === 'string' && PATH_PLACEHOLDERS.has(placeholder);
}

/**
 * A client's spec turned into one a task may run on the server: every field that is a server path is refused
 * (INVALID_ARGUMENT naming the field), `data` must be a built-in dataset's name (not an image folder), and
 * `model` (and `transferTo`) become the directories of served models, by name from the catalog (the route's
 * model when it names one). The task's own parseSpec still checks everything else (types, ranges, unknown
 * keys), with the same messages as on the CLI.
 */
export function guardTaskSpec(
  task: ServedTask,
  body: unknown,
  catalog: ModelCatalog,
  modelName?: string,
): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidArgument(
      `${task}: the spec must be a JSON object, got ${JSON.stringify(body) ?? 'nothing'}.`,
    );
  }
  const spec: Record<string, unknown> = { ...body };
  const properties: Readonly<Record<string, TSchema>> = TASK_SCHEMAS[task].properties;
  for (const [key, value] of Object.entries(spec)) {
    if (value === undefined) continue;
    const prop = properties[key];
    if (prop !== undefined ? isPathField(key, prop) : PATH_KEYS.has(key)) {
      throw invalidArgument(
        `${task}: '${key}' names a file or folder on the server, which a client may not choose; ` +
          (key === 'images'
            ? 'send the images in the request (multipart or base64) or raw inputs as "inputs".'
            : 'remove it (the server uses its own data and models).'),
        { option: key },
      );
    }
  }
  if (spec.data !== undefined) {
    const known: readonly string[] = DATASET_NAMES;
    if (typeof spec.data !== 'string' || !known.includes(spec.data)) {
      throw invalidArgument(
        `${task}: data must be a built-in dataset, one of ${DATASET_NAMES.join(', ')}; got ${JSON.stringify(spec.data)}.`,
        { option: 'data' },
      );
    }
  }
  if (modelName !== undefined && spec.model !== undefined && spec.model !== modelName) {
    throw invalidArgument(
      `${task}: the body names model ${JSON.stringify(spec.model)} but the route names '${modelName}'; ` +
        'give the model in the route only.',
      { option: 'model' },
    );
  }
  const model = modelName ?? spec.model;
  if (model !== undefined) spec.model = resolveModels(task, model, catalog);
  if (spec.transferTo !== undefined) {
    if (typeof spec.transferTo !== 'string') {
      throw invalidArgument(`${task}: transferTo must be a served model's name.`, { option: 'transferTo' });
    }
    spec.transferTo = catalog.resolve(spec.transferTo);
  }
  return spec;
}

/** One model name, or (explain) several as a list or comma-separated text, each resolved by the catalog. */
function resolveModels(task: ServedTask, model: unknown, catalog: ModelCatalog): string | string[] {
  if (task === 'explain' && (Array.isArray(model) || (typeof model === 'string' && model.includes(',')))) {
    const names: unknown[] = Array.isArray(model) ? model : model.split(',').map((s) => s.trim());
    return names.map((name) => catalog.resolve(String(name)));
  }
  if (typeof model !== 'string') {
    throw invalidArgument(`${task}: model must be a served model's name, got ${JSON.stringify(model)}.`, {
      option: 'model',
    });
  }
  return catalog.resolve(model);
}
