import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Piscina } from 'piscina';
import { AdvkitError, invalidArgument } from '../../errors.js';
import { packageRoot } from '../../util/node/package-root.js';
import {
  BULLMQ_PREFIX,
  CHUNK_RETRY,
  CHUNKS_QUEUE,
  chunkField,
  recordsKey,
  redisConnection,
  type ChunkJobData,
  type ChunkRetrySettings,
} from './bullmq-settings.js';
import type { ChunkThreadRequest, ChunkThreadResponse } from './chunk-thread.js';

export interface ChunkWorkerOptions {
  /** redis://host:port */
  redis: string;
  /** Chunks computed at once, each on a thread of its own (default 1). */
  concurrency?: number;
  /** Engine threads per compute thread (default 1; see EmbeddedRunnerOptions.engineThreads). */
  engineThreads?: number;
  /** Overrides of the lock and stall settings (tests shorten them). */
  retry?: Partial<Pick<ChunkRetrySettings, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'>>;
  /** What the worker does, chunk by chunk (the CLI prints it). */
  onChunk?: (event: ChunkEvent) => void;
  /** The compiled thread entry; default `<package root>/dist/server/jobs/chunk-thread.js`. */
  threadFile?: string;
}

export interface ChunkEvent {
  state: 'started' | 'stored' | 'already stored' | 'failed';
  jobId: string;
  chunk: string;
  seconds?: number;
  error?: string;
}

/** Refusals that would happen again on every try: the chunk fails at once instead of being retried. */
const FINAL = new Set(['INVALID_ARGUMENT', 'NOT_FOUND', 'CORRUPT_DATA', 'UNSUPPORTED']);
/** A job's records outlive a coordinator that vanished (cancel deletes them at once) by a week at most. */
const RECORDS_TTL_SECONDS = 7 * 24 * 3600;
const STORE_ONCE = 'advkitStoreChunkOnce';

/**
 * A process's share of the BullMQ backend (`advkit worker`): takes chunk jobs from Redis, computes each on a
 * compute thread (piscina: the event loop stays free, so BullMQ renews the chunk's lock however long it runs) with
 * `runEvaluationChunk`, and stores its record once per (job, chunk) with HSETNX. A chunk whose record is already
 * there (its first worker wrote it, then died before BullMQ heard) is not computed again.
 */
export class ChunkWorker {
  private constructor(
    private readonly worker: Worker<ChunkJobData, string>,
    private readonly pool: Piscina,
  ) {}

  static async start(opts: ChunkWorkerOptions): Promise<ChunkWorker> {
    const concurrency = opts.concurrency ?? 1;
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
      throw invalidArgument(`--concurrency must be a positive integer, got ${opts.concurrency}.`);
    }
    const connection = redisConnection(opts.redis);
    const filename = opts.threadFile ?? path.join(packageRoot(), 'dist', 'server', 'jobs', 'chunk-thread.js');
    if (!existsSync(filename)) {
      throw new AdvkitError(
        'INTERNAL',
        `The chunk thread ${filename} is missing; build advkit first (npm run build).`,
      );
    }
    const pool = new Piscina({
      filename,
      minThreads: concurrency,
      maxThreads: concurrency,
      idleTimeout: Number.POSITIVE_INFINITY,
    });
    const retry = { ...CHUNK_RETRY, ...opts.retry };
    const threads = opts.engineThreads ?? 1;
    const notify = opts.onChunk ?? (() => undefined);
    let defined = false;

    const processChunk = async (job: Job<ChunkJobData, string>): Promise<string> => {
      const { jobId, spec, request } = job.data;
      const key = recordsKey(jobId);
      const field = chunkField(request);
      const client = await worker.backend.client;
      if (!defined) {
        client.defineCommand(STORE_ONCE, {
          numberOfKeys: 1,
          lua: "redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) redis.call('EXPIRE', KEYS[1], ARGV[3]) return 1",
        });
        defined = true;
      }
      if ((await client.hget(key, field)) !== null) {
        notify({ state: 'already stored', jobId, chunk: field });
        return 'already stored';
      }
      notify({ state: 'started', jobId, chunk: field });
      const t0 = Date.now();
      const out = (await pool.run({
        spec,
        request,
        threads,
      } satisfies ChunkThreadRequest)) as ChunkThreadResponse;
      if (!out.ok) {
        const reason = `${out.code}: ${out.message}`;
        notify({ state: 'failed', jobId, chunk: field, error: reason });
        throw FINAL.has(out.code) ? new UnrecoverableError(reason) : new Error(reason);
      }
      await client.runCommand(STORE_ONCE, [key, field, JSON.stringify(out.record), RECORDS_TTL_SECONDS]);
      notify({ state: 'stored', jobId, chunk: field, seconds: (Date.now() - t0) / 1000 });
      return 'stored';
    };

    const worker = new Worker<ChunkJobData, string>(CHUNKS_QUEUE, processChunk, {
      connection,
      prefix: BULLMQ_PREFIX,
      concurrency,
      lockDuration: retry.lockDuration,
      stalledInterval: retry.stalledInterval,
      maxStalledCount: retry.maxStalledCount,
      // The chunk's own records are what the coordinator reads; BullMQ need not keep the jobs long.
      removeOnComplete: { age: 3600 },
    });
    try {
      await worker.waitUntilReady();
    } catch (err) {
      await Promise.allSettled([worker.close(true), pool.destroy()]);
      throw new AdvkitError(
        'NETWORK',
        `Cannot reach Redis at ${opts.redis}: ${err instanceof Error ? err.message : String(err)}.`,
      );
    }
    return new ChunkWorker(worker, pool);
  }

  /** Takes no new chunk, lets those in hand finish and store their records, then stops the threads. */
  async close(): Promise<void> {
    await this.worker.close();
    await this.pool.destroy();
  }
}
