import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from './app.js';
import { ModelCatalog } from './model-catalog.js';
import { bombPng, filledInputs, multipartBody, solidPng } from './test-utils/images.js';

/**
 * Every route and every refusal through fastify.inject, on the bundled MNIST model (small and fast); each bad
 * request must be a 4xx JSON { code, message } and leave the server answering /healthz. The compute worker is
 * the compiled dist/server/compute-worker.js: run `npm run build` first (the test command does).
 */
let app: FastifyInstance;
const MNIST: readonly number[] = [28, 28, 1];

beforeAll(async () => {
  app = await buildServer({ catalog: await ModelCatalog.open({}) });
});
afterAll(async () => {
  await app.close();
});

async function expectError(
  res: { statusCode: number; json: () => unknown },
  status: number,
  code: string,
  words?: RegExp,
): Promise<void> {
  expect(res.statusCode).toBe(status);
  const body = res.json() as { code: string; message: string };
  expect(body.code).toBe(code);
  expect(body.message).not.toMatch(/\n\s+at /); // no stack trace
  if (words !== undefined) expect(body.message).toMatch(words);
  expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
}

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, payload: payload as never, headers });

describe('health, metrics and the API description', () => {
  it('sends no CORS headers without --cors', async () => {
    const res = await app.inject({ url: '/healthz', headers: { origin: 'https://lab.example.org' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers /healthz and /readyz', async () => {
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', models: 7 });
  });

  it('writes the OpenAPI document from the task schemas, without server paths', async () => {
    const doc = (await app.inject({ url: '/openapi.json' })).json() as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: { properties: object } }> } }>
      >;
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/healthz', '/v1/models', '/v1/models/{name}', '/v1/models/{name}/attack']),
    );
    const body = doc.paths['/v1/models/{name}/attack'].post.requestBody?.content['application/json'].schema;
    expect(Object.keys(body?.properties ?? {})).toEqual(
      expect.arrayContaining(['inputs', 'images', 'eps', 'params']),
    );
    expect(Object.keys(body?.properties ?? {})).not.toEqual(expect.arrayContaining(['dataDir']));
    const docs = await app.inject({ url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/text\/html/);
  });

  it('counts requests by route and status in /metrics', async () => {
    await app.inject({ url: '/v1/models/nope' });
    const text = (await app.inject({ url: '/metrics' })).body;
    expect(text).toMatch(
      /advkit_http_requests_total\{route="\/v1\/models\/:name",method="GET",status="404"\} \d/,
    );
    expect(text).toContain('advkit_compute_queue_depth');
    expect(text).toContain('advkit_http_request_duration_seconds_bucket');
  });
});

describe('models', () => {
  it('lists the served models with shape, bounds, classes and metrics', async () => {
    const { models } = (await app.inject({ url: '/v1/models' })).json() as { models: { name: string }[] };
    expect(models.map((m) => m.name)).toContain('mnist-cnn');
    const one = (await app.inject({ url: '/v1/models/mnist-cnn' })).json();
    expect(one).toMatchObject({
      name: 'mnist-cnn',
      dataset: 'mnist',
      inputShape: [28, 28, 1],
      bounds: [0, 1],
    });
    expect(one.classes).toHaveLength(10);
    expect(one.metrics.testAccuracy).toBeGreaterThan(0.9);
  });

  it('refuses a path for a name (400) and an unknown name (404, with the known ones)', async () => {
    await expectError(
      await app.inject({ url: '/v1/models/..%2F..%2Fetc' }),
      400,
      'INVALID_ARGUMENT',
      /no paths/,
    );
    await expectError(await app.inject({ url: '/v1/models/nope' }), 404, 'NOT_FOUND', /mnist-cnn/);
    await expectError(await post('/v1/models/..%2Fmodels%2Fmnist-cnn/predict', {}), 400, 'INVALID_ARGUMENT');
    await expectError(await app.inject({ url: '/v2/nothing' }), 404, 'NOT_FOUND', /openapi/);
  });
});

describe('predict', () => {
  it('classifies base64 images, multipart files and raw inputs, naming them as the client did', async () => {
    const png = await solidPng(40, 30);
    const json = await post('/v1/models/mnist-cnn/predict', { images: [png.toString('base64')], top: 2 });
    expect(json.statusCode).toBe(200);
    const result = json.json().result;
    expect(result.model).toBe('mnist-cnn');
    expect(result.predictions[0].source).toBe('images[0]');
    expect(result.predictions[0].top).toHaveLength(2);

    const form = multipartBody([{ field: 'image', filename: 'digit.png', bytes: png }], { top: '3' });
    const multi = await post('/v1/models/mnist-cnn/predict', form.payload, form.headers);
    expect(multi.statusCode).toBe(200);
    expect(multi.json().result.predictions[0].source).toBe('digit.png');
    expect(multi.json().result.predictions[0].top[0].confidence).toBeCloseTo(
      result.predictions[0].top[0].confidence,
      5,
    );

    const raw = await post('/v1/models/mnist-cnn/predict', { inputs: filledInputs(2, MNIST, 0) });
    expect(raw.statusCode).toBe(200);
    expect(raw.json().result.predictions.map((p: { source: string }) => p.source)).toEqual([
      'inputs#0',
      'inputs#1',
    ]);
  });

  it('classifies a built-in dataset sample', async () => {
    const res = await post('/v1/models/mnist-cnn/predict', { data: 'mnist', n: 2 });
    expect(res.statusCode).toBe(200);
    expect(res.json().result.predictions[0].source).toBe('mnist/test#0');
  });

  it('refuses bad images: corrupt (422), truncated (422), a 20,000 x 20,000 bomb (413)', async () => {
    const garbage = Buffer.from('this is not an image at all, only text pretending to be one');
    await expectError(
      await post('/v1/models/mnist-cnn/predict', { images: [garbage.toString('base64')] }),
      422,
      'CORRUPT_DATA',
      /images\[0\].*PNG, JPEG/,
    );
    const png = await solidPng(64, 64, 10);
    const truncated = png.subarray(0, Math.floor(png.length / 2));
    const form = multipartBody([{ field: 'image', filename: 'half.png', bytes: truncated }]);
    const res = await post('/v1/models/mnist-cnn/predict', form.payload, form.headers);
    await expectError(res, 422, 'CORRUPT_DATA', /half\.png/);
    expect(res.json().message).not.toMatch(/advkit-serve-/); // the staged file's path is not shown
    const bomb = bombPng();
    expect(bomb.length).toBeLessThan(2000);
    await expectError(
      await post('/v1/models/mnist-cnn/predict', { images: [bomb.toString('base64')] }),
      413,
      'IMAGE_TOO_LARGE',
      /20000 x 20000/,
    );
    await expectError(
      await post('/v1/models/mnist-cnn/predict', { images: ['***'] }),
      400,
      'INVALID_ARGUMENT',
      /not base64/,
    );
  });

  it('refuses bad raw inputs with what is expected: NaN, null, out of bounds, wrong shape', async () => {
    const nan = '{"inputs": [[[[NaN]]]]}';
    await expectError(
      await post('/v1/models/mnist-cnn/predict', nan, { 'content-type': 'application/json' }),
      400,
      'INVALID_ARGUMENT',
    );
    await expectError(
      await post('/v1/models/mnist-cnn/predict', { inputs: [[[[null]]]] }),
      400,
      'INVALID_ARGUMENT',
      /schema/,
    );
    const high = filledInputs(1, MNIST, 0);
    high[0][3][4][0] = 1.5;
    await expectError(
      await post('/v1/models/mnist-cnn/predict', { inputs: high }),
      400,
      'INVALID_ARGUMENT',
      /inputs\[0\]\[3\]\[4\]\[0\] is 1\.5, outside the bounds; expected \[n, 28, 28, 1\]/,
    );
    await expectError(
      await post('/v1/models/mnist-cnn/predict', { inputs: filledInputs(1, [32, 32, 3], 0) }),
      400,
      'INVALID_ARGUMENT',
      /has 32 rows, not 28/,
    );
  });

  it('refuses server paths, foreign datasets, a wrong content type, too many images and an oversized body', async () => {
    const inputs = filledInputs(1, MNIST, 0);
    await expectError(
      await post('/v1/models/mnist-cnn/predict', { inputs, dataDir: '/etc' }),
      400,
      'INVALID_ARGUMENT',
      /dataDir/,
    );
    await expectError(
      await post('/v1/models/mnist-cnn/predict', { inputs, labels: '/etc/passwd' }),
      400,
      'INVALID_ARGUMENT',
      /labels/,
    );
    await expectError(
      await post('/v1/models/mnist-cnn/predict', { data: '/etc' }),
      400,
      'INVALID_ARGUMENT',
      /mnist, fashion-mnist, cifar10/,
    );
    await expectError(
      await post('/v1/models/mnist-cnn/predict', { inputs, model: '../x' }),
      400,
      'INVALID_ARGUMENT',
      /route/,
    );
    await expectError(
      await post('/v1/models/mnist-cnn/predict', 'hello', { 'content-type': 'text/plain' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      /application\/json/,
    );
    await expectError(await post('/v1/models/mnist-cnn/predict', {}), 400, 'INVALID_ARGUMENT', /give images/);
    await expectError(
      await post('/v1/models/mnist-cnn/predict', { data: 'mnist', n: 17 }),
      400,
      'INVALID_ARGUMENT',
      /at most 16/,
    );
    await expectError(
      await post('/v1/models/mnist-cnn/predict', { inputs: filledInputs(17, MNIST, 0) }),
      400,
      'INVALID_ARGUMENT',
    );
    const big = JSON.stringify({ images: ['A'.repeat(17 * 1024 * 1024)] });
    await expectError(
      await post('/v1/models/mnist-cnn/predict', big, { 'content-type': 'application/json' }),
      413,
      'PAYLOAD_TOO_LARGE',
      /too large/,
    );
  });
});

describe('attack', () => {
  it('returns the adversarial image as a PNG, the predictions before and after, distances and cost', async () => {
    const res = await post('/v1/models/mnist-cnn/attack', {
      inputs: filledInputs(1, MNIST, 0.5),
      eps: 0.1,
      params: { steps: 5 },
    });
    expect(res.statusCode).toBe(200);
    const { result, adversarial } = res.json();
    expect(result.attack).toBe('pgd');
    expect(result.model).toBe('mnist-cnn');
    const [image] = result.images;
    expect(image.clean.label).toBeTypeOf('string');
    expect(image.results[0].prediction.label).toBeTypeOf('string');
    expect(image.results[0].distances.linf).toBeLessThanOrEqual(0.1 + 1e-6);
    expect(result.cost[0].gradientsPerImage).toBeGreaterThan(0);
    expect(adversarial).toHaveLength(1);
    const meta = await sharp(Buffer.from(adversarial[0].png, 'base64')).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 28, 28]);
  });

  it('refuses eps outside the bounds, an unknown attack and a request over the budget cap', async () => {
    const inputs = filledInputs(1, MNIST, 0.5);
    await expectError(
      await post('/v1/models/mnist-cnn/attack', { inputs, eps: 3 }),
      400,
      'INVALID_ARGUMENT',
      /input range \[0, 1\]/,
    );
    await expectError(
      await post('/v1/models/mnist-cnn/attack', { inputs, eps: 0.1, attack: 'nope' }),
      400,
      'INVALID_ARGUMENT',
      /Unknown attack 'nope'. Available: .*pgd/,
    );
    await expectError(
      await post('/v1/models/mnist-cnn/attack', { inputs, eps: 0.1, params: { steps: 5000, restarts: 10 } }),
      400,
      'INVALID_ARGUMENT',
      /costs 50000 .* budget cap is 20000/,
    );
    await expectError(
      await post('/v1/models/mnist-cnn/attack', { inputs, eps: 0.1, transferTo: '/tmp' }),
      400,
      'INVALID_ARGUMENT',
    );
  });
});

describe('explain', () => {
  it('returns the attribution picture and the result', async () => {
    const png = await solidPng(28, 28, 200);
    const res = await post('/v1/models/mnist-cnn/explain', {
      images: [png.toString('base64')],
      methods: 'saliency',
    });
    expect(res.statusCode).toBe(200);
    const { result, pictures } = res.json();
    expect(result.methods[0].name).toBe('saliency');
    expect(JSON.stringify(result)).not.toMatch(/advkit-serve-|\/models\/mnist-cnn/);
    expect((await sharp(Buffer.from(pictures['explain.png'], 'base64')).metadata()).format).toBe('png');
    await expectError(
      await post('/v1/models/mnist-cnn/explain', {
        inputs: filledInputs(16, MNIST, 0),
        methods: 'smoothgrad',
        samples: 2000,
      }),
      400,
      'INVALID_ARGUMENT',
      /explain: this request costs 32000 .* budget cap is 20000/,
    );
    await expectError(
      await post('/v1/models/mnist-cnn/explain', { images: [png.toString('base64')], patch: '/etc/x.png' }),
      400,
      'INVALID_ARGUMENT',
      /patch/,
    );
  });
});
