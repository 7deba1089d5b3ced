import type { FastifyInstance } from 'fastify';
import { errorSchema, modelInfoSchema, modelNameParams } from '../route-schemas.js';
import type { ServerContext } from '../server-context.js';

/** GET /v1/models and /v1/models/{name}: what a client needs to build inputs for a model and read its outputs. */
export async function modelRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get(
    '/v1/models',
    {
      schema: {
        summary: 'The served models',
        tags: ['models'],
        response: {
          200: { type: 'object', properties: { models: { type: 'array', items: modelInfoSchema } } },
        },
      },
    },
    async () => ({ models: ctx.catalog.list() }),
  );
  app.get(
    '/v1/models/:name',
    {
      schema: {
        summary: 'One served model: input shape, bounds, classes, recorded metrics',
        tags: ['models'],
        params: modelNameParams,
        response: { 200: modelInfoSchema, 400: errorSchema, 404: errorSchema },
      },
    },
    async (req) => ctx.catalog.get((req.params as { name: string }).name),
  );
}
