import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBody, HttpError, statusFor } from '../http-errors.js';
import {
  FINISHED,
  notCompleted,
  QUEUED_PROGRESS,
  unknownJob,
  checkJobId,
  type JobEvent,
  type JobInfo,
  type JobRunner,
} from '../jobs/job-runner.js';
import { buildServer } from '../app.js';
import { ModelCatalog } from '../model-catalog.js';
import { evaluationRoutes } from './evaluations.js';

/** A JobRunner whose jobs change only when the test says so: the routes' own behaviour, without evaluations. */
class ScriptedRunner implements JobRunner {
  readonly jobs = new Map<string, JobInfo>();
  readonly specs = new Map<string, Record<string, unknown>>();
  private readonly listeners = new Map<string, Set<(e: JobEvent) => void>>();

  async submit(spec: Record<string, unknown>): Promise<JobInfo> {
    const job: JobInfo = {
      id: randomUUID(),
      status: 'queued',
      progress: QUEUED_PROGRESS,
      notes: [],
      createdAt: new Date().toISOString(),
    };
    this.jobs.set(job.id, job);
    this.specs.set(job.id, spec);
    return { ...job };
  }
  async get(id: string): Promise<JobInfo> {
    checkJobId(id);
    const job = this.jobs.get(id);
    if (job === undefined) throw unknownJob(id);
    return { ...job };
  }
  async report(id: string): Promise<Uint8Array> {
    const job = await this.get(id);
    if (job.status !== 'completed') throw notCompleted(job);
    return new TextEncoder().encode('<!doctype html><html><body>report</body></html>');
  }
  subscribe(id: string, listener: (e: JobEvent) => void): () => void {
    const set = this.listeners.get(id) ?? new Set();
    this.listeners.set(id, set);
    set.add(listener);
    return () => set.delete(listener);
  }
  async cancel(id: string): Promise<JobInfo> {
    const job = await this.get(id);
    if (job.status === 'queued') this.update(id, { status: 'cancelled' });
    return this.get(id);
  }
  async depth(): Promise<number> {
    return [...this.jobs.values()].filter((j) => !FINISHED.has(j.status)).length;
  }
  async close(): Promise<void> {}

  update(id: string, fields: Partial<JobInfo>): void {
    const job = this.jobs.get(id)!;
    Object.assign(job, fields);
    for (const l of this.listeners.get(id) ?? []) l({ type: 'status', job: { ...job } });
  }
  progress(id: string, fraction: number): void {
    const progress = { fraction, stage: 'attack', detail: `at ${fraction}` };
    Object.assign(this.jobs.get(id)!, { progress });
    for (const l of this.listeners.get(id) ?? []) l({ type: 'progress', progress });
  }
  listenerCount(id: string): number {
    return this.listeners.get(id)?.size ?? 0;
  }
}

describe('evaluation routes', () => {
  let app: FastifyInstance;
  let jobs: ScriptedRunner;
  let catalog: ModelCatalog;
  const SPEC = { model: 'mnist-cnn', n: 16, suite: 'apgd-ce', eps: '0.1', sanity: false };

  beforeAll(async () => {
    jobs = new ScriptedRunner();
    catalog = await ModelCatalog.open({});
    app = Fastify({
      ajv: {
        customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false, strict: false },
      },
    });
    // The shared error handler of the app (app.ts), so statuses and bodies are the server's.
    app.setErrorHandler((err, _req, reply) => {
      if (err instanceof HttpError && err.retryAfter !== undefined) {
        void reply.header('retry-after', String(err.retryAfter));
      }
      return reply.status(statusFor(err)).send(errorBody(err));
    });
    await app.register(evaluationRoutes, { jobs, catalog, maxJobs: 3 });
    await app.ready();
  });
  afterAll(() => app.close());

  it('POST: 202 with the id, status and links; the spec is guarded (model name -> served directory)', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/evaluations', payload: SPEC });
    expect(res.statusCode).toBe(202);
    const body = res.json<JobInfo & { links: Record<string, string> }>();
    expect(body.status).toBe('queued');
    expect(body.links.self).toBe(`/v1/evaluations/${body.id}`);
    expect(body.links.report).toBe(`/v1/evaluations/${body.id}/report`);
    expect(res.headers.location).toBe(body.links.self);
    const spec = jobs.specs.get(body.id)!;
    expect(spec.model).toBe(catalog.resolve('mnist-cnn'));
    expect(spec.n).toBe(16);
    jobs.update(body.id, { status: 'completed' });
  });

  it('POST: 400 for a spec the schema or the guard refuses (a server path, a bad type)', async () => {
    const path = await app.inject({
      method: 'POST',
      url: '/v1/evaluations',
      payload: { ...SPEC, dataDir: '/etc' },
    });
    expect(path.statusCode).toBe(400);
    expect(path.json().code).toBe('INVALID_ARGUMENT');
    expect(path.json().message).toContain('dataDir');
    const type = await app.inject({
      method: 'POST',
      url: '/v1/evaluations',
      payload: { ...SPEC, n: 'many' },
    });
    expect(type.statusCode).toBe(400);
    const model = await app.inject({
      method: 'POST',
      url: '/v1/evaluations',
      payload: { ...SPEC, model: '../models/x' },
    });
    expect(model.statusCode).toBe(400);
  });

  it('GET: 200 with status and progress; 400 for a malformed id, 404 for an unknown one', async () => {
    const job = await jobs.submit(SPEC);
    jobs.update(job.id, { status: 'running' });
    jobs.progress(job.id, 0.5);
    const res = await app.inject({ method: 'GET', url: `/v1/evaluations/${job.id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: job.id, status: 'running', progress: { fraction: 0.5 } });
    const bad = await app.inject({ method: 'GET', url: '/v1/evaluations/not-a-uuid' });
    expect(bad.statusCode).toBe(400);
    const unknown = await app.inject({ method: 'GET', url: `/v1/evaluations/${randomUUID()}` });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('NOT_FOUND');
    jobs.update(job.id, { status: 'failed', error: { code: 'INTERNAL', message: 'x' } });
  });

  it('GET report: 409 while not completed, then text/html', async () => {
    const job = await jobs.submit(SPEC);
    const early = await app.inject({ method: 'GET', url: `/v1/evaluations/${job.id}/report` });
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({ code: 'NOT_READY' });
    jobs.update(job.id, { status: 'completed' });
    const res = await app.inject({ method: 'GET', url: `/v1/evaluations/${job.id}/report` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.body).toContain('<html>');
    const missing = await app.inject({ method: 'GET', url: `/v1/evaluations/${randomUUID()}/report` });
    expect(missing.statusCode).toBe(404);
  });

  it('DELETE: 204 for a queued job (cancelled at once), 202 while a running one stops, 404 unknown', async () => {
    const queued = await jobs.submit(SPEC);
    const res = await app.inject({ method: 'DELETE', url: `/v1/evaluations/${queued.id}` });
    expect(res.statusCode).toBe(204);
    expect(jobs.jobs.get(queued.id)?.status).toBe('cancelled');
    const running = await jobs.submit(SPEC);
    jobs.update(running.id, { status: 'running' });
    const stopping = await app.inject({ method: 'DELETE', url: `/v1/evaluations/${running.id}` });
    expect(stopping.statusCode).toBe(202);
    expect(stopping.json().status).toBe('running');
    jobs.update(running.id, { status: 'cancelled' });
    const unknown = await app.inject({ method: 'DELETE', url: `/v1/evaluations/${randomUUID()}` });
    expect(unknown.statusCode).toBe(404);
  });

  it('POST: 429 with Retry-After once the bounded number of jobs is queued or running', async () => {
    const open = await jobs.depth();
    for (let i = open; i < 3; i++) await jobs.submit(SPEC);
    const res = await app.inject({ method: 'POST', url: '/v1/evaluations', payload: SPEC });
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('BUSY');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    for (const job of jobs.jobs.values())
      if (!FINISHED.has(job.status)) jobs.update(job.id, { status: 'cancelled' });
  });

  it('GET events: server-sent status and progress events until the job ends, then the stream closes', async () => {
    const job = await jobs.submit(SPEC);
    const response = app.inject({ method: 'GET', url: `/v1/evaluations/${job.id}/events` });
    await new Promise((r) => setTimeout(r, 20));
    jobs.update(job.id, { status: 'running' });
    jobs.progress(job.id, 0.25);
    jobs.progress(job.id, 0.75);
    jobs.update(job.id, { status: 'completed' });
    const res = await response;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    const events = res.body
      .split('\n\n')
      .filter((block) => block.startsWith('event:'))
      .map((block) => {
        const [event, data] = block.split('\n');
        return { event: event.slice('event: '.length), data: JSON.parse(data.slice('data: '.length)) };
      });
    expect(events.map((e) => e.event)).toEqual(['status', 'status', 'progress', 'progress', 'status']);
    expect(events.map((e) => e.data.status ?? e.data.fraction)).toEqual([
      'queued',
      'running',
      0.25,
      0.75,
      'completed',
    ]);
    expect(jobs.listenerCount(job.id)).toBe(0);
  });

  it('GET events: a finished job gives its status and ends; unknown ids are 404', async () => {
    const job = await jobs.submit(SPEC);
    jobs.update(job.id, { status: 'failed', error: { code: 'INVALID_ARGUMENT', message: 'bad' } });
    const res = await app.inject({ method: 'GET', url: `/v1/evaluations/${job.id}/events` });
    expect(res.body).toMatch(/^event: status\ndata: \{.*"status":"failed".*\}\n\n$/);
    const unknown = await app.inject({ method: 'GET', url: `/v1/evaluations/${randomUUID()}/events` });
    expect(unknown.statusCode).toBe(404);
  });
});

describe('evaluation routes in the server', () => {
  it('register as a plugin of buildServer, behind its error handler, and appear in /openapi.json', async () => {
    const catalog = await ModelCatalog.open({});
    const jobs = new ScriptedRunner();
    const app = await buildServer({
      catalog,
      plugins: [{ plugin: evaluationRoutes, options: { jobs, catalog } }],
    });
    try {
      const created = await app.inject({
        method: 'POST',
        url: '/v1/evaluations',
        payload: { model: 'mnist-cnn', n: 8, eps: '0.1' },
      });
      expect(created.statusCode).toBe(202);
      const unknown = await app.inject({ method: 'GET', url: `/v1/evaluations/${randomUUID()}` });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().code).toBe('NOT_FOUND');
      const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
      const post = doc.paths['/v1/evaluations'].post;
      const body = post.requestBody.content['application/json'].schema;
      expect(Object.keys(body.properties)).toEqual(
        expect.arrayContaining(['model', 'n', 'eps', 'suite', 'chunk']),
      );
      expect(body.properties.dataDir).toBeUndefined();
      expect(doc.paths['/v1/evaluations/{id}/events'].get).toBeDefined();
      // An open event stream ends when the server closes, rather than holding the close until its job ends.
      const events = app.inject({ method: 'GET', url: `${created.json().links.self}/events` });
      await new Promise((r) => setTimeout(r, 20));
      await app.close();
      expect((await events).body).toContain('event: status');
    } finally {
      await app.close();
    }
  });
});
