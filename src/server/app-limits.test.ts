import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from './app.js';
import { ModelCatalog } from './model-catalog.js';
import { filledInputs, multipartBody, solidPng } from './test-utils/images.js';

/**
 * The guards that are about the server rather than one request's content: API keys, the rate limit, the bounded
 * compute queue (429 with Retry-After), the request timeout, and a client that disconnects, on a real socket.
 */
let catalog: ModelCatalog;
beforeAll(async () => {
  catalog = await ModelCatalog.open({});
});

const inputs = filledInputs(1, [28, 28, 1], 0.5);
/** An attack that runs until stopped: a budget too small to succeed, no early stop, many steps. */
const longAttack = { inputs, eps: 0.001, params: { steps: 5000, earlyStop: false } };

describe('API keys and the rate limit', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildServer({
      catalog,
      apiKeys: ['key-one', 'key-two'],
      cors: ['https://lab.example.org'],
      limits: { rateLimitPerMinute: 4 },
      // A route plugin of another part (the evaluation jobs): behind the keys, with the shared context.
      plugins: [
        {
          plugin: async (scope, opts: { answer: number }) => {
            scope.get('/v1/extra', async () => ({
              answer: opts.answer,
              models: scope.advkit.catalog.list().length,
            }));
          },
          options: { answer: 42 },
        },
      ],
    });
  });
  afterAll(async () => {
    await app.close();
  });

  it('needs a key for the API, not for probes, and compares it exactly', async () => {
    const missing = await app.inject({ url: '/v1/models' });
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toMatchObject({
      code: 'UNAUTHENTICATED',
      message: expect.stringMatching(/Bearer/),
    });
    const wrong = await app.inject({ url: '/v1/models', headers: { authorization: 'Bearer key-on' } });
    expect(wrong.statusCode).toBe(401);
    const right = await app.inject({ url: '/v1/models', headers: { authorization: 'Bearer key-two' } });
    expect(right.statusCode).toBe(200);
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/openapi.json' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/extra' })).statusCode).toBe(401);
    const extra = await app.inject({ url: '/v1/extra', headers: { authorization: 'Bearer key-two' } });
    expect(extra.json()).toEqual({ answer: 42, models: 7 });
  });

  it('allows the --cors origins only', async () => {
    const preflight = (origin: string) =>
      app.inject({
        method: 'OPTIONS',
        url: '/v1/models/mnist-cnn/predict',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    const allowed = await preflight('https://lab.example.org');
    expect(allowed.headers['access-control-allow-origin']).toBe('https://lab.example.org');
    const other = await preflight('https://evil.example.com');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('limits requests per key, each key apart, with Retry-After', async () => {
    const get = (key: string) =>
      app.inject({ url: '/v1/models/mnist-cnn', headers: { authorization: `Bearer ${key}` } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await get('key-one')).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    const limited = await get('key-one');
    expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await get('key-two')).statusCode).toBe(200);
    // Wrong keys count per address, with the three keyless API requests of the test above: guessing with a new
    // token each time does not get past the limit.
    const guesses: number[] = [];
    for (let i = 0; i < 3; i++) guesses.push((await get(`guess-${i}`)).statusCode);
    expect(guesses).toEqual([401, 429, 429]);
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });
});

describe('the compute queue, the timeout and disconnects', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildServer({ catalog, workers: 1, limits: { maxQueue: 1, requestTimeoutMs: 1500 } });
    // Warm the compute thread (its backend starts on the first task).
    await app.inject({ method: 'POST', url: '/v1/models/mnist-cnn/predict', payload: { inputs } });
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers 429 with Retry-After beyond the queue, and 503 when a run takes longer than the limit', async () => {
    const attack = () =>
      app.inject({ method: 'POST', url: '/v1/models/mnist-cnn/attack', payload: longAttack });
    const answers = await Promise.all([attack(), attack(), attack(), attack()]);
    const statuses = answers.map((r) => r.statusCode).sort();
    // One computes, one waits (then both time out), two are refused at once.
    expect(statuses).toEqual([429, 429, 503, 503]);
    const busy = answers.find((r) => r.statusCode === 429);
    expect(busy?.json()).toMatchObject({ code: 'BUSY', message: expect.stringMatching(/queue holds 1/) });
    expect(busy?.headers['retry-after']).toBe('5');
    expect(answers.find((r) => r.statusCode === 503)?.json()).toMatchObject({ code: 'TIMEOUT' });
    expect(app.advkit.pool.queued).toBe(0);
  });

  it('on a real socket: answers /healthz while an attack runs, and cancels the work of a client that leaves', async () => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const client = new AbortController();
    const pending = fetch(`${address}/v1/models/mnist-cnn/attack`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(longAttack),
      signal: client.signal,
    }).catch((err: unknown) => err);
    await waitFor(() => app.advkit.pool.active === 1);
    const started = performance.now();
    const health = await fetch(`${address}/healthz`);
    expect(health.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(500);
    client.abort();
    expect(await pending).toBeInstanceOf(Error);
    // Well before the 1.5 s timeout: the worker saw the cancel flag and stopped the task.
    await waitFor(() => app.advkit.pool.active === 0, 1000);
    const predict = await fetch(`${address}/v1/models/mnist-cnn/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs }),
    });
    expect(predict.status).toBe(200);
    const metrics = await (await fetch(`${address}/metrics`)).text();
    expect(metrics).toMatch(/status="499"/);
  });
});

describe('multipart limits', () => {
  it('refuses a file over the body limit (413) and more files than the batch cap', async () => {
    const app = await buildServer({ catalog, limits: { bodyLimit: 4096, maxBatch: 2 } });
    try {
      const big = multipartBody([{ field: 'image', filename: 'big.png', bytes: Buffer.alloc(8192, 1) }]);
      const tooBig = await app.inject({ method: 'POST', url: '/v1/models/mnist-cnn/predict', ...big });
      expect(tooBig.statusCode).toBe(413);
      expect(tooBig.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
      const png = await solidPng(8, 8);
      const three = multipartBody(
        ['a', 'b', 'c'].map((name) => ({ field: 'image', filename: `${name}.png`, bytes: png })),
      );
      const many = await app.inject({ method: 'POST', url: '/v1/models/mnist-cnn/predict', ...three });
      expect(many.statusCode).toBe(400);
      expect(many.json().message).toMatch(/takes at most 2 \(its batch cap, --max-batch\)/);
      expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('closing', () => {
  it('cancels the task runs in flight, each answered 503, and closes promptly', async () => {
    const app = await buildServer({ catalog, workers: 1 });
    await app.inject({ method: 'POST', url: '/v1/models/mnist-cnn/predict', payload: { inputs } });
    const attack = () =>
      app.inject({ method: 'POST', url: '/v1/models/mnist-cnn/attack', payload: longAttack });
    const answers = Promise.all([attack(), attack()]);
    await waitFor(() => app.advkit.pool.active === 1 && app.advkit.pool.queued === 1);
    const started = performance.now();
    await app.close();
    expect(performance.now() - started).toBeLessThan(5000);
    for (const res of await answers) {
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({
        code: 'UNAVAILABLE',
        message: expect.stringMatching(/shutting down/),
      });
    }
  });
});

async function waitFor(done: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
