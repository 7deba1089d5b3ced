import type { TSchema } from 'typebox';
import { isPathField, TASK_SCHEMAS, type ServedTask } from './spec-guard.js';

/**
 * The JSON bodies of the task routes, derived from the tasks' own schemas (TypeBox schemas are JSON Schema):
 * the task's fields less those a client may not give (server paths, and `model`, which the route names), plus
 * `images` as base64 files. Fastify validates requests with them and @fastify/swagger writes the OpenAPI
 * document from them, so the HTTP surface cannot drift from the task it calls.
 */
export function taskBodySchema(
  task: Exclude<ServedTask, 'evaluate'>,
  maxBatch: number,
): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries<TSchema>(TASK_SCHEMAS[task].properties)) {
    if (key === 'model' || key === 'adversarialImages' || isPathField(key, prop)) continue;
    properties[key] = key === 'inputs' ? { ...prop, maxItems: maxBatch } : prop;
  }
  properties.images = {
    type: 'array',
    minItems: 1,
    maxItems: maxBatch,
    items: { type: 'string' },
    description: 'image files (PNG, JPEG, WebP, ...) as base64 or data: URIs, resized to the model input',
  };
  return { type: 'object', properties };
}

export const errorSchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: {
      type: 'string',
      description: 'INVALID_ARGUMENT, NOT_FOUND, CORRUPT_DATA, UNSUPPORTED, BUSY, ...',
    },
    message: { type: 'string', description: 'what was wrong and what is expected' },
  },
};

export const modelInfoSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    dataset: { type: 'string' },
    inputShape: { type: 'array', items: { type: 'integer' }, minItems: 3, maxItems: 3 },
    classes: { type: 'array', items: { type: 'string' } },
    bounds: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 },
    metrics: { type: 'object', additionalProperties: { type: 'number' } },
    source: { type: 'string', enum: ['bundled', 'models-dir'] },
    notes: { type: 'array', items: { type: 'string' } },
  },
};

export const modelNameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', description: 'a served model (GET /v1/models)' } },
};
