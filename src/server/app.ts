import { createReadStream } from 'node:fs';
import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import { isBuiltSite, staticFile } from '../util/node/static-site.js';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import { ADVKIT_VERSION } from '../version.js';
import { ApiKeys, rateLimitKey } from './auth.js';
import { ComputePool } from './compute-pool.js';
import { errorBody, HttpError, statusFor } from './http-errors.js';
import { resolveLimits, type ServerLimits } from './limits.js';
import { ServerMetrics } from './metrics.js';
import type { ModelCatalog } from './model-catalog.js';
import { modelRoutes } from './routes/models.js';
import { taskRoutes } from './routes/tasks.js';
import type { ServerContext } from './server-context.js';

export interface ServerOptions {
  catalog: ModelCatalog;
  /** Bearer keys; none: no authentication (the server binds to 127.0.0.1 by default). */
  apiKeys?: string[];
  /** Origins allowed by CORS; none: CORS is off (browsers on other origins cannot call the server). */
  cors?: string[];
  limits?: Partial<ServerLimits>;
  /** Compute threads, each running one task at a time (default 1). */
  workers?: number;
  /** Engine threads per compute thread (default 1, so the compute threads do not fight over the cores). */
  engineThreads?: number;
  /**
   * Route plugins registered after authentication and rate limiting (e.g. the evaluation jobs' routes); they
   * reach the catalog, pool, limits and metrics as `app.advkit`.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each plugin declares its own options type
  plugins?: { plugin: FastifyPluginAsync<any>; options?: object }[];
  /** Metrics to count into (default: a new registry); others may add their own metrics to it. */
  metrics?: ServerMetrics;
  /** Fastify's logger (default off; the serve command turns it on). */
  logger?: FastifyServerOptions['logger'];
  /** The compiled compute worker (default: dist/server/compute-worker.js under the package root). */
  workerFile?: string;
  /**
   * The playground's built site (`npm run build:web`, dist-web/), served at `/` without a key: it runs in the
   * visitor's browser and calls nothing here. Absent or not built: no site.
   */
  siteDir?: string;
}

/** Routes that answer without an API key: probes, metrics scrapers and the API's own description. */
const PUBLIC = ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs'];

/**
 * The HTTP surface of advkit: a thin Fastify layer over the tasks. Requests are validated by schemas derived
 * from the task schemas (which also write /openapi.json), every task run happens on a compute thread behind a
 * bounded queue, and every error is JSON `{ code, message }` with the status of its code (http-errors.ts).
 * Closing the app closes the compute threads.
 */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const limits = resolveLimits(opts.limits);
  const metrics = opts.metrics ?? new ServerMetrics();
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: limits.bodyLimit,
    // Each request carries a task's worth of data at most; a client that trickles it is cut off.
    requestTimeout: 60_000,
    ajv: {
      // The task fills in its own defaults and converts nothing: a coerced null would become a 0 pixel, and a
      // filled-in default would look like a field the client gave.
      customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false, strict: false },
    },
  });
  const pool = new ComputePool({
    workers: opts.workers ?? 1,
    maxQueue: limits.maxQueue,
    engineThreads: opts.engineThreads,
    metrics,
    workerFile: opts.workerFile,
  });
  const ctx: ServerContext = { catalog: opts.catalog, pool, limits, metrics };
  app.decorate('advkit', ctx);
  let closing = false;
  // Closing first cancels the task runs (each answered 503), so that in-flight attacks do not hold the close
  // for minutes; the threads end once the server has stopped.
  app.addHook('preClose', async () => {
    closing = true;
    pool.drain();
  });
  app.addHook('onClose', async () => {
    await pool.close();
  });
  // Only JSON and multipart bodies: a text/plain body is refused with 415 instead of failing validation.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err, req, reply) => {
    const status = statusFor(err);
    if (status >= 500) req.log.error({ err }, 'request failed');
    if (err instanceof HttpError && err.retryAfter !== undefined) {
      void reply.header('retry-after', String(err.retryAfter));
    }
    return reply.status(status).send(errorBody(err));
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({
      code: 'NOT_FOUND',
      message: `No route ${req.method} ${req.url.split('?')[0]}; GET /openapi.json lists the routes.`,
    }),
  );
  // A client that leaves gets no response, so it is counted here, as 499 (nginx's "client closed request").
  app.addHook('onRequestAbort', async (req) => {
    metrics.requests.inc({ route: req.routeOptions.url ?? 'unmatched', method: req.method, status: '499' });
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'advkit',
        version: ADVKIT_VERSION,
        description:
          'Adversarial robustness for TensorFlow.js classifiers: predict, attack and explain with served models.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      ...(opts.apiKeys !== undefined ? { security: [{ bearer: [] }] } : {}),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  if (opts.cors !== undefined && opts.cors.length > 0) {
    await app.register(cors, { origin: opts.cors, methods: ['GET', 'POST', 'DELETE'] });
  }
  await app.register(multipart, {
    limits: { fileSize: limits.bodyLimit, files: limits.maxBatch, fields: 100, fieldSize: limits.bodyLimit },
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness: the server answers', tags: ['health'] } },
    async () => ({
      status: 'ok',
    }),
  );
  app.get(
    '/readyz',
    { schema: { summary: 'Readiness: models served and compute threads taking work', tags: ['health'] } },
    async (_req, reply) => {
      const ready = !closing && opts.catalog.list().length > 0;
      return reply.status(ready ? 200 : 503).send({
        status: ready ? 'ready' : 'not ready',
        models: opts.catalog.list().length,
        computing: pool.active,
        queued: pool.queued,
      });
    },
  );
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['health'] } }, async (_req, reply) =>
    reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  if (opts.siteDir !== undefined && isBuiltSite(opts.siteDir)) {
    const siteDir = opts.siteDir;
    // The API's own routes are exact and win over this wildcard; a path outside the site is the JSON 404.
    app.get('/*', { schema: { hide: true } }, async (req, reply) => {
      const file = await staticFile(siteDir, req.url);
      if (file === null) return reply.callNotFound();
      return reply
        .header('content-type', file.contentType)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-cache')
        .send(createReadStream(file.path));
    });
  }

  await app.register(async (scope) => {
    const keys = opts.apiKeys !== undefined ? new ApiKeys(opts.apiKeys) : undefined;
    // The rate limit (a hook of each route's onRequest) comes before the key check (preParsing, still before the
    // body is read), so that wrong keys count too, per address.
    await scope.register(rateLimit, {
      max: limits.rateLimitPerMinute,
      timeWindow: 60_000,
      keyGenerator: (req) => rateLimitKey(req, keys),
      errorResponseBuilder: (_req, context) =>
        new HttpError(
          429,
          'RATE_LIMITED',
          `Too many requests: at most ${context.max} a minute per API key (or address); retry in ${context.after}.`,
        ),
    });
    if (keys !== undefined) {
      scope.addHook('preParsing', async (req) => {
        if (!PUBLIC.some((p) => req.url === p || req.url.startsWith(`${p}/`))) keys.check(req);
      });
    }
    await modelRoutes(scope, ctx);
    await taskRoutes(scope, ctx);
    for (const { plugin, options } of opts.plugins ?? []) await scope.register(plugin, options ?? {});
  });
  return app;
}
