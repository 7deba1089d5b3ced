import type { ConnectionOptions } from 'bullmq';
import { createRequire } from 'node:module';
import { AdvkitError, invalidArgument } from '../../errors.js';
import type { EvaluationChunkRequest } from '../../tasks/evaluate.js';

/**
 * What the coordinator (the server) and the chunk workers (`advkit worker`) agree on: queue names, the key prefix,
 * where chunk records are kept, and how stalled chunks are retried.
 */
export const BULLMQ_PREFIX = 'advkit';
/** One job per chunk: what `advkit worker` processes. */
export const CHUNKS_QUEUE = 'evaluation-chunks';
/** One parent job per (job, stage), completed by the coordinator once every chunk of the stage is done. */
export const STAGES_QUEUE = 'evaluation-stages';

/**
 * How long a worker holds a chunk, and what happens when it dies. The chunk computes on a thread, so the worker's
 * event loop renews its lock every lockDuration / 2 however long the chunk runs (minutes for a large one): the lock
 * need only outlast a pause of the event loop, not the chunk.
 *
 * - lockDuration 30 s: a killed worker's chunk is free again at most 30 s after its last renewal;
 * - stalledInterval 15 s: every worker looks for such chunks this often, so a lost chunk waits about
 *   lockDuration + stalledInterval (45 s) before another worker takes it;
 * - maxStalledCount 2: a chunk whose worker dies twice (a machine lost twice, not a chunk that kills every
 *   worker it reaches, e.g. out of memory) is retried; a third stall fails it, and with it the job;
 * - attempts 3, exponential backoff from 5 s: a chunk that throws (a model file not yet synced, Redis briefly
 *   gone) is tried again; a refusal (INVALID_ARGUMENT, NOT_FOUND: another evaluation's key, a model the worker
 *   does not have) fails at once, since it would fail the same way every time.
 *
 * Tests shorten lockDuration and stalledInterval (through the worker's options) to see a retry in seconds.
 */
export interface ChunkRetrySettings {
  lockDuration: number;
  stalledInterval: number;
  maxStalledCount: number;
  attempts: number;
  backoffMs: number;
}

export const CHUNK_RETRY: ChunkRetrySettings = {
  lockDuration: 30_000,
  stalledInterval: 15_000,
  maxStalledCount: 2,
  attempts: 3,
  backoffMs: 5_000,
};

/** What a chunk job carries: the (guarded) spec, so any worker can open the evaluation, and the chunk. */
export interface ChunkJobData {
  jobId: string;
  spec: Record<string, unknown>;
  request: EvaluationChunkRequest;
}

/** The hash of a job's chunk records (field: `chunkField`), written once per chunk by whichever worker ends first. */
export function recordsKey(jobId: string): string {
  return `${BULLMQ_PREFIX}:evaluation-records:${jobId}`;
}

/** A chunk's identity within its job: run, eps, attack and chunk indices. */
export function chunkField(request: EvaluationChunkRequest): string {
  const { eps, attack, chunk } = request.ids;
  return `${request.run ?? 'model'}/${eps}/${attack}/${chunk}`;
}

/** The BullMQ connection for a `redis://` (or `rediss://`) URL. */
export function redisConnection(url: string): ConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidArgument(
      `--redis: '${url}' is not a URL; expected redis://host:port (or rediss:// for TLS).`,
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw invalidArgument(`--redis: '${url}' is not a Redis URL; expected redis://host:port (or rediss://).`);
  }
  // BullMQ 6 builds its Redis client with ioredis, an optional peer dependency it loads only then.
  try {
    createRequire(import.meta.url).resolve('ioredis');
  } catch {
    throw new AdvkitError(
      'UNSUPPORTED',
      "--redis needs the 'ioredis' package, which BullMQ uses to reach Redis: npm install ioredis.",
    );
  }
  // Workers block on Redis for minutes; BullMQ needs commands to wait for a reconnect rather than fail.
  return { url, maxRetriesPerRequest: null };
}
