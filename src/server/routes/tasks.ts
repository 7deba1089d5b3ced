import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AdvkitError, invalidArgument } from '../../errors.js';
import type { Artifact } from '../../tasks/task.js';
import { HttpError } from '../http-errors.js';
import { attackCost, checkBatch, checkCost, explainCost } from '../limits.js';
import { decodeBase64Image, stageImages, type UploadedImage } from '../request-images.js';
import { errorSchema, modelNameParams, taskBodySchema } from '../route-schemas.js';
import type { ServerContext } from '../server-context.js';
import { guardTaskSpec } from '../spec-guard.js';

type ComputeTask = 'predict' | 'attack' | 'explain';

const SUMMARY: Readonly<Record<ComputeTask, string>> = {
  predict: 'Classify images or raw inputs: the top-k classes with confidences (the predict task)',
  attack:
    'Attack images or raw inputs: the adversarial images (PNG, base64), the predictions before and after, ' +
    'distances and cost (the attack task)',
  explain:
    'Explain images or raw inputs: attribution maps as a PNG (base64) and the result (the explain task)',
};

const MULTIPART_NOTE =
  'Send JSON ({ images: [base64...] } or { inputs: [[[[...]]]] } plus the task fields), or multipart/form-data ' +
  'with image files and the task fields in a "spec" field (JSON) or as fields of their own.';

/** The task routes: POST /v1/models/{name}/predict, /attack and /explain. */
export async function taskRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  for (const task of ['predict', 'attack', 'explain'] as const) {
    app.post(
      `/v1/models/:name/${task}`,
      {
        schema: {
          summary: SUMMARY[task],
          description: MULTIPART_NOTE,
          tags: ['tasks'],
          params: modelNameParams,
          body: { content: { 'application/json': { schema: taskBodySchema(task, ctx.limits.maxBatch) } } },
          response: {
            400: errorSchema,
            404: errorSchema,
            413: errorSchema,
            422: errorSchema,
            429: errorSchema,
          },
        },
        // A full queue refuses at once, after the key check but before the body is read and its images staged.
        preParsing: async () => {
          if (ctx.pool.saturated) throw ctx.pool.busyError();
        },
      },
      (req, reply) => runTaskRoute(task, req, reply, ctx),
    );
  }
}

/** What a request carries: the task fields, and the images it uploaded. */
interface TaskRequest {
  fields: Record<string, unknown>;
  images: UploadedImage[];
}

async function readRequest(req: FastifyRequest, ctx: ServerContext): Promise<TaskRequest> {
  if (req.isMultipart()) return readMultipart(req, ctx);
  const body = req.body ?? {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw invalidArgument('The request body must be a JSON object of the task fields.');
  }
  const { images, ...fields } = body as Record<string, unknown>;
  if (images === undefined) return { fields, images: [] };
  if (!Array.isArray(images)) throw invalidArgument('images must be a list of base64 image files.');
  checkBatch(images.length, ctx.limits, 'images');
  return { fields, images: images.map((text, i) => decodeBase64Image(text, `images[${i}]`)) };
}

/** Multipart: files are images; a "spec" field holds the task fields as JSON, other fields one field each. */
async function readMultipart(req: FastifyRequest, ctx: ServerContext): Promise<TaskRequest> {
  try {
    return await readParts(req, ctx);
  } catch (err) {
    // The multipart parser stops at the batch cap (its files limit): the refusal names the cap, like JSON's.
    if (typeof err === 'object' && err !== null && 'code' in err && err.code === 'FST_FILES_LIMIT') {
      checkBatch(ctx.limits.maxBatch + 1, ctx.limits, 'images');
    }
    throw err;
  }
}

async function readParts(req: FastifyRequest, ctx: ServerContext): Promise<TaskRequest> {
  const fields: Record<string, unknown> = {};
  const images: UploadedImage[] = [];
  for await (const part of req.parts()) {
    if (part.type === 'file') {
      images.push({ name: part.filename || part.fieldname, bytes: await part.toBuffer() });
      checkBatch(images.length, ctx.limits, 'images');
      continue;
    }
    const value = typeof part.value === 'string' ? part.value : String(part.value);
    if (part.fieldname === 'spec') {
      const spec = parseJson(value, 'the "spec" field');
      if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
        throw invalidArgument('The "spec" field must be a JSON object of the task fields.');
      }
      Object.assign(fields, spec);
    } else {
      fields[part.fieldname] = parseFieldValue(value);
    }
  }
  return { fields, images };
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalidArgument(`${what} is not valid JSON.`);
  }
}

/** A form field's text as the JSON value it spells (3, true, [..]), else as text ('pgd', '8/255'). */
function parseFieldValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function imagesIn(fields: Record<string, unknown>, uploaded: number): number {
  if (uploaded > 0) return uploaded;
  if (Array.isArray(fields.inputs)) return fields.inputs.length;
  return typeof fields.n === 'number' ? fields.n : 0;
}

/**
 * One task request: read and check the inputs (batch and cost caps, images by their headers), guard the spec
 * (no server paths, the model by name), run it on a compute thread (cancelled when the client leaves or the
 * time is up), and answer the result with server paths replaced by the names the client gave.
 */
async function runTaskRoute(
  task: ComputeTask,
  req: FastifyRequest,
  reply: FastifyReply,
  ctx: ServerContext,
): Promise<unknown> {
  const { name } = req.params as { name: string };
  ctx.catalog.get(name);
  const { fields, images } = await readRequest(req, ctx);
  const count = imagesIn(fields, images.length);
  checkBatch(count, ctx.limits, task);
  if (images.length === 0 && fields.inputs === undefined && fields.data === undefined) {
    throw invalidArgument(
      `${task}: give images (multipart files or base64 "images"), raw "inputs" [n, h, w, c], or "data" (a dataset name).`,
    );
  }
  const spec = guardTaskSpec(task, fields, ctx.catalog, name);
  if (task === 'attack') {
    checkCost(attackCost(spec, Math.max(1, count)), ctx.limits, 'attack');
    spec.adversarialImages = true;
  }
  if (task === 'explain') checkCost(explainCost(spec, Math.max(1, count)), ctx.limits, 'explain');
  const staged = images.length > 0 ? await stageImages(images, ctx.limits.maxPixels) : undefined;
  if (staged !== undefined) spec.images = staged.files;
  const controller = new AbortController();
  // A client that leaves before its answer cancels its work; a finished reply closes too, harmlessly.
  let left = false;
  const onClose = () => {
    if (reply.raw.writableFinished) return;
    left = true;
    controller.abort();
  };
  reply.raw.once('close', onClose);
  const timeout = setTimeout(() => controller.abort(), ctx.limits.requestTimeoutMs);
  const names = new Map<string, string>([[ctx.catalog.resolve(name), name]]);
  staged?.files.forEach((file, i) => names.set(file, staged.names[i]));
  try {
    const out = await ctx.pool.run(task, spec, controller.signal);
    return respond(task, redact(out.result, names), out.artifacts);
  } catch (err) {
    if (left) {
      // Nobody reads this answer and Fastify records no response for it: count it as nginx's 499.
      const route = req.routeOptions.url ?? 'unmatched';
      ctx.metrics.requests.inc({ route, method: req.method, status: '499' });
    }
    if (err instanceof AdvkitError) {
      // The task's message may name a staged file or a model directory: the client knows them by name.
      err.message = String(redact(err.message, names));
    }
    if (controller.signal.aborted && !left) {
      throw new HttpError(
        503,
        'TIMEOUT',
        `${task} took longer than the server's limit of ${ctx.limits.requestTimeoutMs / 1000} s and was ` +
          'cancelled; use fewer images or steps (or raise --timeout).',
      );
    }
    throw err;
  } finally {
    clearTimeout(timeout);
    reply.raw.off('close', onClose);
    await staged?.dispose();
  }
}

/** The answer: the task's result, and its PNG artifacts as base64 (the adversarial images, the pictures). */
function respond(
  task: ComputeTask,
  result: unknown,
  artifacts: readonly Artifact[],
): Record<string, unknown> {
  const pngs = artifacts.filter((a) => a.mediaType === 'image/png');
  const base64 = (a: Artifact) => Buffer.from(a.bytes).toString('base64');
  if (task === 'attack') {
    const adversarial = pngs
      .filter((a) => a.name.startsWith('adversarial-'))
      .map((a) => {
        const [, image, eps] = /^adversarial-(\d+)-(\d+)\.png$/.exec(a.name) ?? [];
        return { image: Number(image), epsIndex: Number(eps), png: base64(a) };
      });
    const picture = pngs.find((a) => a.name === 'attack.png');
    return { result, adversarial, ...(picture !== undefined ? { picture: base64(picture) } : {}) };
  }
  if (task === 'predict') return { result };
  return { result, pictures: Object.fromEntries(pngs.map((a) => [a.name, base64(a)])) };
}

/** A result with every server path in it (model directories, staged files) replaced by what the client named. */
function redact(value: unknown, names: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') {
    let out = value;
    for (const [from, to] of names) out = out.split(from).join(to);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, names));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, names)]));
  }
  return value;
}
