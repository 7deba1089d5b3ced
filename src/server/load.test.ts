import type { FastifyInstance } from 'fastify';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from './app.js';
import { ModelCatalog } from './model-catalog.js';
import { filledInputs, solidPng } from './test-utils/images.js';

/**
 * Load on loopback, bounded in count and time: 50 concurrent predict and 10 concurrent attack requests (MNIST, a
 * few PGD steps) against the default limits (1 compute thread, a queue of 16). Every answer must be 200 or 429,
 * and /healthz, polled meanwhile, must stay fast (p99 < 100 ms): the event loop never computes. The figures are
 * printed for the record (bench/RESULTS).
 */
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  app = await buildServer({ catalog: await ModelCatalog.open({}) });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
  // Warm the compute thread's backend and each code path once (raw inputs, an image, an attack), so the figures
  // are about serving, not start-up.
  const png = (await solidPng(28, 28, 90)).toString('base64');
  await post('/v1/models/mnist-cnn/predict', { inputs: filledInputs(1, [28, 28, 1], 0) });
  await post('/v1/models/mnist-cnn/predict', { images: [png] });
  await post('/v1/models/mnist-cnn/attack', { images: [png], eps: 0.1, params: { steps: 5 } });
});
afterAll(async () => {
  await app.close();
});

async function post(route: string, body: unknown): Promise<number> {
  const res = await fetch(`${url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

/**
 * Sends the requests all at once from a thread of its own: a real client is not in the server's process, and
 * 60 fetches in this thread would hold the event loop that /healthz is measured on.
 */
async function loadFromThread(base: string, requests: { route: string; body: string }[]): Promise<number[]> {
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    Promise.all(workerData.requests.map(async ({ route, body }) => {
      const res = await fetch(workerData.base + route, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body,
      });
      await res.arrayBuffer();
      return res.status;
    })).then((statuses) => parentPort.postMessage(statuses));`;
  const worker = new Worker(code, { eval: true, workerData: { base, requests } });
  try {
    return await new Promise<number[]>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  } finally {
    await worker.terminate();
  }
}

const WAVES = 3;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

describe('load', () => {
  it('answers waves of 50 predict and 10 attack requests at once with 200 or 429, /healthz fast throughout', async () => {
    // The client shares this process's event loop: its bodies are built before the clock starts.
    const png = (await solidPng(28, 28, 90)).toString('base64');
    const imageBody = JSON.stringify({ images: [png] });
    const inputsBody = JSON.stringify({ inputs: filledInputs(2, [28, 28, 1], 0.2) });
    // Attacks send raw inputs: an uploaded image is staged (header check, temporary file) before it queues, so
    // raw inputs reach the queue first, and attacks should compete for it.
    const attackBody = JSON.stringify({
      inputs: filledInputs(1, [28, 28, 1], 0.5),
      eps: 0.1,
      params: { steps: 5 },
    });
    let peakRss = process.memoryUsage().rss;
    const rssTimer = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 20);
    const healthz: number[] = [];
    let loading = true;
    const prober = (async () => {
      while (loading) {
        const t = performance.now();
        const res = await fetch(`${url}/healthz`);
        await res.arrayBuffer();
        expect(res.status).toBe(200);
        healthz.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const started = performance.now();
    // Interleaved (every sixth is an attack), so that attacks reach the queue too.
    const requests = Array.from({ length: 60 }, (_, i) =>
      i % 6 === 0
        ? { route: '/v1/models/mnist-cnn/attack', body: attackBody }
        : { route: '/v1/models/mnist-cnn/predict', body: i % 2 === 0 ? imageBody : inputsBody },
    );
    // Three waves back to back, so that /healthz gets over a hundred probes under load (a p99 of fewer is the max).
    const answers: number[] = [];
    for (let wave = 0; wave < WAVES; wave++) answers.push(...(await loadFromThread(url, requests)));
    const seconds = (performance.now() - started) / 1000;
    loading = false;
    await prober;
    clearInterval(rssTimer);

    const count = (list: number[], s: number) => list.filter((x) => x === s).length;
    const statuses = answers;
    const predictStatuses = answers.filter((_, i) => (i % 60) % 6 !== 0);
    const attackStatuses = answers.filter((_, i) => (i % 60) % 6 === 0);
    const sorted = [...healthz].sort((a, b) => a - b);
    const figures = {
      waves: WAVES,
      seconds: Number(seconds.toFixed(2)),
      predict: { ok: count(predictStatuses, 200), busy: count(predictStatuses, 429) },
      attack: { ok: count(attackStatuses, 200), busy: count(attackStatuses, 429) },
      peakRssMiB: Math.round(peakRss / 2 ** 20),
      healthz: {
        probes: sorted.length,
        p50ms: Number(percentile(sorted, 50).toFixed(1)),
        p99ms: Number(percentile(sorted, 99).toFixed(1)),
        maxMs: Number(sorted[sorted.length - 1].toFixed(1)),
      },
    };
    console.log(`advkit serve load: ${JSON.stringify(figures)}`);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(figures.predict.ok + figures.attack.ok).toBeGreaterThan(0);
    expect(sorted.length).toBeGreaterThan(5);
    expect(figures.healthz.p99ms).toBeLessThan(100);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
