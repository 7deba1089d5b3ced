import type { ComputePool } from './compute-pool.js';
import type { ServerLimits } from './limits.js';
import type { ServerMetrics } from './metrics.js';
import type { ModelCatalog } from './model-catalog.js';

/**
 * What the routes share: the served models, the compute threads, the limits and the metrics. It is decorated on
 * the app as `app.advkit`, so route plugins written elsewhere (the evaluation jobs) reach the same objects.
 */
export interface ServerContext {
  catalog: ModelCatalog;
  pool: ComputePool;
  limits: ServerLimits;
  metrics: ServerMetrics;
}

declare module 'fastify' {
  interface FastifyInstance {
    advkit: ServerContext;
  }
}
