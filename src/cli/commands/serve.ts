import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { AdvkitError, invalidArgument } from '../../errors.js';
import { buildServer, type ServerOptions } from '../../server/app.js';
import { DEFAULT_LIMITS, type ServerLimits } from '../../server/limits.js';
import { ServerMetrics } from '../../server/metrics.js';
import { ModelCatalog } from '../../server/model-catalog.js';
import { createJobRunner } from '../../server/jobs/create-job-runner.js';
import { evaluationRoutes } from '../../server/routes/evaluations.js';
import { userCacheDir } from '../../data/node/locate.js';
import { defaultSiteDir } from '../../util/node/static-site.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import type { CliIo } from '../main.js';
import { untilSignal } from '../interrupt.js';

interface ServeFlags {
  models?: string;
  host: string;
  port: string;
  apiKeys?: string;
  workers: string;
  cors?: string[];
  bodyLimit?: string;
  maxPixels?: string;
  maxBatch?: string;
  maxCost?: string;
  maxQueue?: string;
  timeout?: string;
  rateLimit?: string;
  quiet?: boolean;
  stateDir?: string;
  redis?: string;
}

/**
 * `advkit serve`: the HTTP API (predict, attack and explain with served models; OpenAPI at /openapi.json, docs
 * at /docs) until SIGINT or SIGTERM, which close the server and its compute threads. It binds to 127.0.0.1
 * unless told otherwise: with --host 0.0.0.0 give --api-keys too.
 */
export function registerServeCommand(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description(
      'Serve the HTTP API: predict, attack and explain with the bundled models (and those in --models). ' +
        'OpenAPI at /openapi.json, docs at /docs, Prometheus metrics at /metrics.',
    )
    .option('--models <dir>', 'also serve every model folder (model.json) in this directory, by folder name')
    .option(
      '--host <address>',
      'address to listen on (0.0.0.0: every interface; give --api-keys then)',
      '127.0.0.1',
    )
    .option('--port <number>', 'port to listen on (0: any free port)', '8080')
    .option('--api-keys <file>', 'require a bearer API key: one key per line (# starts a comment)')
    .option('--workers <n>', 'compute threads, each running one task at a time', '1')
    .option('--cors <origins...>', 'allow browsers on these origins (default: CORS off)')
    .option('--body-limit <bytes>', `largest request body (default: ${DEFAULT_LIMITS.bodyLimit})`)
    .option('--max-pixels <n>', `largest uploaded image in pixels (default: ${DEFAULT_LIMITS.maxPixels})`)
    .option('--max-batch <n>', `images per request (default: ${DEFAULT_LIMITS.maxBatch})`)
    .option(
      '--max-cost <n>',
      `gradient or query steps per attack request (default: ${DEFAULT_LIMITS.maxCost})`,
    )
    .option(
      '--max-queue <n>',
      `task runs waiting for a thread before 429 (default: ${DEFAULT_LIMITS.maxQueue})`,
    )
    .option('--timeout <seconds>', `longest task run (default: ${DEFAULT_LIMITS.requestTimeoutMs / 1000})`)
    .option(
      '--rate-limit <n>',
      `requests per minute per key or address (default: ${DEFAULT_LIMITS.rateLimitPerMinute})`,
    )
    .option('--quiet', 'no request log')
    .option(
      '--state-dir <dir>',
      `where evaluation jobs keep their files and resumable state (default: ${defaultStateDir()})`,
    )
    .option(
      '--redis <url>',
      'send the chunks of evaluation jobs to BullMQ in this Redis, for `advkit worker` processes (default: computed here)',
    )
    .action(async (flags: ServeFlags) => {
      const options = await serverOptions(flags);
      const port = positiveOrZero(flags.port, '--port');
      // The jobs' routes must be in options.plugins before buildServer registers them.
      const jobs = await evaluationJobs(flags, options);
      const app = await buildServer(options).catch(async (err: unknown) => {
        await jobs.close();
        throw err;
      });
      let address: string;
      try {
        address = await app.listen({ host: flags.host, port });
      } catch (err) {
        await app.close();
        await jobs.close();
        const reason = err instanceof Error ? err.message : String(err);
        throw invalidArgument(`Cannot listen on ${flags.host}:${port}: ${reason}.`);
      }
      const models = options.catalog.list().length;
      io.stdout(
        `advkit serve: ${address} (${models} models; docs ${address}/docs; ` +
          `${options.apiKeys !== undefined ? `${options.apiKeys.length} API keys` : 'no API keys'})\n`,
      );
      if (options.apiKeys === undefined && !['127.0.0.1', '::1', 'localhost'].includes(flags.host)) {
        io.stderr(
          `advkit serve: warning: listening on ${flags.host} without --api-keys: anyone who reaches it can use it.\n`,
        );
      }
      for (const s of options.catalog.skipped) io.stderr(`advkit serve: skipped ${s.dir}: ${s.reason}\n`);
      const signal = await untilSignal();
      io.stdout(`advkit serve: ${signal}, closing\n`);
      await app.close();
      await jobs.close();
    });
}

/**
 * The evaluation jobs (POST /v1/evaluations ...): the embedded runner keeps every job's files and resumable state
 * under --state-dir, so a restarted server resumes its jobs; with --redis their chunks go to BullMQ for `advkit
 * worker` processes. It runs before buildServer, since the routes must be in `options.plugins` when it registers them.
 */
async function evaluationJobs(
  flags: ServeFlags,
  options: ServerOptions & { plugins: NonNullable<ServerOptions['plugins']> },
): Promise<{ close: () => Promise<void> }> {
  const runner = await createJobRunner({
    stateDir: path.resolve(flags.stateDir ?? defaultStateDir()),
    ...(flags.redis !== undefined ? { redis: flags.redis } : {}),
    metrics: options.metrics,
  });
  options.plugins.push({ plugin: evaluationRoutes, options: { jobs: runner, catalog: options.catalog } });
  return { close: () => runner.close() };
}

/** The jobs' default home: beside the dataset cache (~/.cache/advkit/serve). */
function defaultStateDir(): string {
  return path.join(path.dirname(userCacheDir()), 'serve');
}

async function serverOptions(
  flags: ServeFlags,
): Promise<ServerOptions & { plugins: NonNullable<ServerOptions['plugins']> }> {
  const apiKeys = flags.apiKeys === undefined ? undefined : await readApiKeys(flags.apiKeys);
  const workers = positive(flags.workers, '--workers');
  const limits: Partial<ServerLimits> = {};
  const set = (key: keyof ServerLimits, raw: string | undefined, flag: string, scale = 1) => {
    if (raw !== undefined) limits[key] = positive(raw, flag) * scale;
  };
  set('bodyLimit', flags.bodyLimit, '--body-limit');
  set('maxPixels', flags.maxPixels, '--max-pixels');
  set('maxBatch', flags.maxBatch, '--max-batch');
  set('maxCost', flags.maxCost, '--max-cost');
  set('maxQueue', flags.maxQueue, '--max-queue');
  set('requestTimeoutMs', flags.timeout, '--timeout', 1000);
  set('rateLimitPerMinute', flags.rateLimit, '--rate-limit');
  // A model without advkit.json is loaded once to learn its shape, which needs a backend in this thread.
  if (flags.models !== undefined) await initNodeBackend({ threads: 1 });
  const catalog = await ModelCatalog.open({ modelsDir: flags.models });
  return {
    catalog,
    ...(apiKeys !== undefined ? { apiKeys } : {}),
    ...(flags.cors !== undefined ? { cors: flags.cors } : {}),
    limits,
    workers,
    metrics: new ServerMetrics(),
    plugins: [],
    // The playground, when it was built (npm run build:web).
    siteDir: defaultSiteDir(),
    logger: flags.quiet === true ? false : { level: 'info' },
  };
}

/** The keys of an --api-keys file: one per line, blank lines and # comments skipped. */
async function readApiKeys(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new AdvkitError(
      'NOT_FOUND',
      `--api-keys: cannot read ${file} (${reason}); expected a file of keys, one per line.`,
    );
  }
  const keys = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (keys.length === 0)
    throw invalidArgument(`--api-keys: ${file} holds no key; expected one key per line.`);
  const short = keys.find((k) => k.length < 16);
  if (short !== undefined) {
    throw invalidArgument(
      `--api-keys: a key in ${file} has ${short.length} characters; use at least 16 (random).`,
    );
  }
  return keys;
}

function positive(raw: string, flag: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw invalidArgument(`${flag} must be a positive integer, got '${raw}'.`);
  }
  return n;
}

function positiveOrZero(raw: string, flag: string): number {
  return raw.trim() === '0' ? 0 : positive(raw, flag);
}
