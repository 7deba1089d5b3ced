import { ATTACKS } from '../attacks/registry.js';
import { invalidArgument } from '../errors.js';
import { parseBudgets } from '../tasks/budgets.js';
import { fieldDefault, fieldKind, type Field } from '../util/schema.js';

/**
 * What one request may ask of the server. Each bound stops one way a single client could take the server
 * down or hold it for long: memory (body, pixels), time (cost, timeout), and everyone else's turn (queue,
 * rate). The defaults fit the bundled MNIST and CIFAR-10 models on a small machine; an operator raises them.
 */
export interface ServerLimits {
  /** Bytes of a request body (JSON or multipart): 16 MiB holds 16 large photos or 1,000 raw MNIST inputs. */
  bodyLimit: number;
  /** Pixels of one uploaded image, read from its header before decoding (a decompression bomb is refused). */
  maxPixels: number;
  /** Images (files, base64 images, raw inputs or dataset samples) per request. */
  maxBatch: number;
  /**
   * Gradient or query steps one attack request may cost: images x budgets x EOT passes x the attack's
   * step-like parameters (steps, restarts, queries, ...), defaults included.
   */
  maxCost: number;
  /** Task runs that may wait for a compute thread; one more is answered 429 with Retry-After. */
  maxQueue: number;
  /** Milliseconds a task run may take, waiting included; then it is cancelled and answered 503. */
  requestTimeoutMs: number;
  /** Requests per minute per API key (per client address without keys). */
  rateLimitPerMinute: number;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = {
  bodyLimit: 16 * 1024 * 1024,
  // 4096 x 4096: any camera photo resized for a model; decoding it takes about 50 MB, not gigabytes.
  maxPixels: 4096 * 4096,
  maxBatch: 16,
  // 16 images x PGD 40 steps x 10 restarts = 6,400; a few seconds of MNIST work per request at most.
  maxCost: 20_000,
  maxQueue: 16,
  requestTimeoutMs: 120_000,
  rateLimitPerMinute: 600,
};

/** A limit's name as the serve command's flag, for messages that say how to raise it. */
const FLAG: Readonly<Record<keyof ServerLimits, string>> = {
  bodyLimit: '--body-limit',
  maxPixels: '--max-pixels',
  maxBatch: '--max-batch',
  maxCost: '--max-cost',
  maxQueue: '--max-queue',
  requestTimeoutMs: '--timeout',
  rateLimitPerMinute: '--rate-limit',
};

/** The limits with defaults filled in, each checked to be a positive integer. */
export function resolveLimits(given: Partial<ServerLimits> = {}): ServerLimits {
  const out = { ...DEFAULT_LIMITS, ...given };
  for (const [key, value] of Object.entries(out) as [keyof ServerLimits, number][]) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw invalidArgument(`${FLAG[key]} must be a positive integer, got ${String(value)}.`);
    }
  }
  return out;
}

/** Refuses a request with more images than the batch cap, naming the cap. */
export function checkBatch(count: number, limits: ServerLimits, what: string): void {
  if (count > limits.maxBatch) {
    throw invalidArgument(
      `${what}: ${count} images in one request; the server takes at most ${limits.maxBatch} ` +
        `(its batch cap, ${FLAG.maxBatch}). Split them into several requests.`,
      { option: 'maxBatch' },
    );
  }
}

/** Parameter names that multiply an attack's work. */
const STEP_LIKE = /steps|restarts|queries|iterations|samples/i;

/**
 * An attack request's cost in gradient or query steps: images x budgets x EOT passes x every step-like
 * parameter of the attack (given, else its default). An unknown attack costs nothing here; the task refuses it.
 */
export function attackCost(spec: Record<string, unknown>, images: number): number {
  const attack = ATTACKS.find((a) => a.name === (spec.attack ?? 'pgd'));
  if (attack === undefined) return 0;
  const params = (typeof spec.params === 'object' && spec.params !== null ? spec.params : {}) as Record<
    string,
    unknown
  >;
  let perImage = 1;
  for (const [name, field] of Object.entries<Field>(attack.schema)) {
    if (!STEP_LIKE.test(name)) continue;
    const kind = fieldKind(field);
    if (kind !== 'integer' && kind !== 'number') continue;
    const value = params[name] ?? fieldDefault(field);
    if (typeof value === 'number' && Number.isFinite(value) && value > 1) perImage *= value;
  }
  let budgets = 1;
  const eps: unknown = spec.eps;
  const given = Array.isArray(eps)
    ? eps.filter((e: unknown): e is number | string => typeof e === 'number' || typeof e === 'string')
    : eps;
  if (typeof given === 'string' || typeof given === 'number' || Array.isArray(given)) {
    try {
      budgets = parseBudgets(given).length;
    } catch {
      budgets = 1; // the task refuses a bad eps with its own message
    }
  }
  const eot = typeof spec.eot === 'number' && spec.eot > 1 ? spec.eot : 1;
  return images * budgets * eot * perImage;
}

/** Gradient passes per input of each attribution method, from its parameters (the adaptive IG's worst case). */
function methodPasses(method: string, spec: Record<string, unknown>): number {
  const num = (key: string, fallback: number): number => {
    const v = spec[key];
    return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback;
  };
  if (method.startsWith('smoothgrad')) return num('samples', 50);
  if (method === 'ig') return Math.max(num('steps', 32), num('maxSteps', 512));
  return 1;
}

/**
 * An explain request's cost in gradient passes, an estimate: inputs x models x the methods' passes (SmoothGrad's
 * samples, IG's steps up to its maxSteps), plus the attack's steps when each input is also attacked
 * ('pgd:steps=20'), doubled for the faithfulness scores. The randomization test ('sanity') is not counted; the
 * request timeout bounds it.
 */
export function explainCost(spec: Record<string, unknown>, images: number): number {
  const list = (v: unknown): string[] =>
    Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',').map((x) => x.trim()) : [];
  const methods =
    spec.methods === undefined ? ['saliency', 'smoothgrad', 'ig', 'gradcam'] : list(spec.methods);
  const models = Math.max(1, list(spec.model).length);
  let perInput = methods.reduce((sum, m) => sum + methodPasses(m, spec), 0);
  if (typeof spec.attack === 'string' && spec.attack !== '') {
    const [name, ...pairs] = spec.attack.split(':');
    const params = Object.fromEntries(
      pairs.map((pair) => {
        const [key, value] = pair.split('=');
        return [key, Number(value)];
      }),
    );
    // The attacked rows are explained too.
    perInput = perInput * 2 + attackCost({ attack: name, params }, 1);
  }
  if (spec.faithfulness === true) perInput *= 2;
  return images * models * perInput;
}

/** Refuses an attack request whose cost is over the server's budget cap, naming the cap and the factors. */
export function checkCost(cost: number, limits: ServerLimits, what: string): void {
  if (cost > limits.maxCost) {
    throw invalidArgument(
      `${what}: this request costs ${cost} gradient or query steps (images x budgets x EOT passes x the ` +
        `attack's steps, restarts and queries, or the methods' samples and steps); the server's budget cap is ${limits.maxCost} (${FLAG.maxCost}). ` +
        'Use fewer images, budgets, steps, samples or restarts.',
      { option: 'maxCost' },
    );
  }
}
