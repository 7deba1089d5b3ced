import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TSchema } from 'typebox';
import { evaluateSchema } from '../../tasks/evaluate-spec.js';
import { HttpError } from '../http-errors.js';
import { FINISHED, JOB_ID_PATTERN, type JobEvent, type JobInfo, type JobRunner } from '../jobs/job-runner.js';
import type { ModelCatalog } from '../model-catalog.js';
import { errorSchema } from '../route-schemas.js';
import { guardTaskSpec, isPathField } from '../spec-guard.js';

export interface EvaluationRoutesOptions {
  jobs: JobRunner;
  catalog: ModelCatalog;
  /** Jobs queued or running beyond which a new one is refused with 429 (default 16). */
  maxJobs?: number;
  /** Seconds between SSE keep-alive comments (default 15: under the idle timeouts of common proxies). */
  keepAliveSeconds?: number;
}

const DEFAULT_MAX_JOBS = 16;
/** What a refused client is told to wait: an evaluation takes minutes, so polling faster does not help. */
const RETRY_AFTER_SECONDS = 60;

/** The evaluate spec as a client gives it: the task's fields less the server paths (the guard refuses those). */
function evaluationBodySchema(): Record<string, unknown> {
  const properties: Record<string, TSchema> = {};
  for (const [key, prop] of Object.entries<TSchema>(evaluateSchema.properties)) {
    if (!isPathField(key, prop)) properties[key] = prop;
  }
  return { type: 'object', properties };
}

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: JOB_ID_PATTERN, description: 'the job id (a UUID)' } },
};

const progressSchema = {
  type: 'object',
  properties: {
    fraction: { type: 'number', minimum: 0, maximum: 1 },
    stage: { type: 'string', description: 'queued, starting, attack, sanity, done, failed, cancelled' },
    detail: { type: 'string' },
  },
};

const jobSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: ['queued', 'running', 'completed', 'failed', 'cancelled'] },
    progress: progressSchema,
    result: {
      type: 'object',
      additionalProperties: true,
      description: "the evaluate task's result (report: evaluation.json) once completed",
    },
    error: errorSchema,
    notes: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'string' },
    startedAt: { type: 'string' },
    finishedAt: { type: 'string' },
    links: { type: 'object', additionalProperties: { type: 'string' } },
  },
};

function links(id: string): Record<string, string> {
  const self = `/v1/evaluations/${id}`;
  return { self, report: `${self}/report`, events: `${self}/events` };
}

function withLinks(job: JobInfo): JobInfo & { links: Record<string, string> } {
  return { ...job, links: links(job.id) };
}

/**
 * The evaluation jobs' routes: an evaluation takes minutes, so it is submitted (202 and an id), watched (GET,
 * or server-sent events) and fetched (the report) later, and can be cancelled. Which backend runs the jobs
 * (embedded, or chunks on BullMQ workers) is the `jobs` runner's business; the routes only know JobRunner.
 */
export const evaluationRoutes: FastifyPluginAsync<EvaluationRoutesOptions> = async (app, opts) => {
  const { jobs, catalog } = opts;
  const maxJobs = opts.maxJobs ?? DEFAULT_MAX_JOBS;
  const keepAliveMs = (opts.keepAliveSeconds ?? 15) * 1000;
  const errors = { 400: errorSchema, 404: errorSchema, 409: errorSchema, 429: errorSchema };
  // Open event streams end when the server closes: it would otherwise wait for every watched job to end.
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...streams]) end();
  });

  app.post(
    '/v1/evaluations',
    {
      schema: {
        summary:
          'Submit an evaluation (the evaluate task: AutoAttack protocol, sanity checks, report) as a job',
        description:
          'The body is the evaluate task\'s spec with a served model\'s name as "model". Answers 202 with the ' +
          'job id and its links; 429 (Retry-After) when too many jobs are queued or running.',
        tags: ['evaluations'],
        body: evaluationBodySchema(),
        response: { 202: jobSchema, ...errors, 422: errorSchema },
      },
    },
    async (req, reply) => {
      const depth = await jobs.depth();
      if (depth >= maxJobs) {
        throw new HttpError(
          429,
          'BUSY',
          `${depth} evaluations are queued or running (at most ${maxJobs}); retry after the time in Retry-After.`,
          { retryAfter: RETRY_AFTER_SECONDS },
        );
      }
      const spec = guardTaskSpec('evaluate', req.body, catalog);
      const job = await jobs.submit(spec);
      return reply.status(202).header('location', links(job.id).self).send(withLinks(job));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/evaluations/:id',
    {
      schema: {
        summary: "An evaluation job: status, progress, and the evaluate task's result once completed",
        tags: ['evaluations'],
        params: idParams,
        response: { 200: jobSchema, ...errors },
      },
    },
    async (req) => withLinks(await jobs.get(req.params.id)),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/evaluations/:id/report',
    {
      schema: {
        summary: "A completed evaluation's self-contained HTML report (409 while it is not completed)",
        tags: ['evaluations'],
        params: idParams,
        produces: ['text/html'],
        response: errors,
      },
    },
    async (req, reply) => {
      const job = await jobs.get(req.params.id);
      if (job.status !== 'completed') {
        throw new HttpError(
          409,
          'NOT_READY',
          `Evaluation ${job.id} is ${job.status}; its report exists once it is completed ` +
            `(GET ${links(job.id).self} or its events say when).`,
        );
      }
      return reply.type('text/html; charset=utf-8').send(Buffer.from(await jobs.report(job.id)));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/evaluations/:id/events',
    {
      schema: {
        summary:
          'Server-sent events of an evaluation job: "status" (the job) now and at every change, "progress" ' +
          'while it runs; the stream ends when the job ends',
        tags: ['evaluations'],
        params: idParams,
        produces: ['text/event-stream'],
        response: errors,
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      // Subscribe first and hold events until the current status is out, so no change falls between the two.
      const held: JobEvent[] = [];
      let write: ((e: JobEvent) => void) | undefined;
      const unsubscribe = jobs.subscribe(id, (e) => (write ? write(e) : held.push(e)));
      let job: JobInfo;
      try {
        job = await jobs.get(id);
      } catch (err) {
        unsubscribe();
        throw err;
      }
      streamEvents(reply, job, held, { unsubscribe, keepAliveMs, setWriter: (w) => (write = w), streams });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/evaluations/:id',
    {
      schema: {
        summary:
          'Cancel an evaluation job: 204 once it is cancelled (or had already ended), 202 while a running ' +
          'job stops',
        tags: ['evaluations'],
        params: idParams,
        response: { 202: jobSchema, ...errors },
      },
    },
    async (req, reply) => {
      const job = await jobs.cancel(req.params.id);
      if (FINISHED.has(job.status)) return reply.status(204).send();
      return reply.status(202).send(withLinks(job));
    },
  );
};

/**
 * Writes the job's events as server-sent events (`event: status|progress`, `data: <JSON>`) until the job ends or
 * the client goes; comments keep an idle connection open through proxies.
 */
function streamEvents(
  reply: FastifyReply,
  job: JobInfo,
  held: JobEvent[],
  o: {
    unsubscribe: () => void;
    keepAliveMs: number;
    setWriter: (w: (e: JobEvent) => void) => void;
    streams: Set<() => void>;
  },
): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    // nginx buffers responses unless told not to; events must arrive as they happen.
    'x-accel-buffering': 'no',
  });
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    clearInterval(keepAlive);
    o.unsubscribe();
    o.streams.delete(end);
    res.end();
  };
  o.streams.add(end);
  const send = (e: JobEvent): void => {
    if (ended) return;
    const data = e.type === 'status' ? withLinks(e.job) : e.progress;
    res.write(`event: ${e.type}\ndata: ${JSON.stringify(data)}\n\n`);
    if (e.type === 'status' && FINISHED.has(e.job.status)) end();
  };
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), o.keepAliveMs);
  res.on('close', end);
  send({ type: 'status', job });
  for (const e of held) send(e);
  o.setWriter(send);
}
