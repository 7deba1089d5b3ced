import type { Command } from 'commander';
import { invalidArgument } from '../../errors.js';
import { ChunkWorker, type ChunkEvent } from '../../server/jobs/chunk-worker.js';
import type { CliIo } from '../main.js';
import { untilSignal } from '../interrupt.js';

interface WorkerFlags {
  redis: string;
  concurrency: string;
  engineThreads: string;
  lockDuration?: string;
  stalledInterval?: string;
}

function positiveInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 1)) {
    throw invalidArgument(`${flag} must be a positive integer, got '${value}'.`, { option: flag });
  }
  return n;
}

/** The URL without its password, for messages. */
function shown(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

function chunkLine(e: ChunkEvent): string {
  const what = `job ${e.jobId} chunk ${e.chunk}`;
  switch (e.state) {
    case 'started':
      return `${what}: started\n`;
    case 'stored':
      return `${what}: stored (${(e.seconds ?? 0).toFixed(1)} s)\n`;
    case 'already stored':
      return `${what}: already stored by another worker, skipped\n`;
    case 'failed':
      return `${what}: failed: ${e.error ?? ''}\n`;
  }
}

/**
 * `advkit worker --redis URL`: computes the chunks of the evaluations that `advkit serve --redis URL` runs, on
 * this machine, until SIGINT or SIGTERM, then stops taking chunks, finishes those in hand and exits 0. Any number
 * of workers on any machines may serve one server; each needs the same models and datasets where the server's
 * specs name them.
 */
export function registerWorkerCommand(program: Command, io: CliIo): void {
  program
    .command('worker')
    .description(
      'Compute the chunks of evaluation jobs queued in Redis by `advkit serve --redis URL` (BullMQ), until ' +
        'interrupted (SIGINT/SIGTERM: the chunks in hand finish first). A worker killed mid-chunk loses nothing: ' +
        'after --lock-duration plus --stalled-interval another worker takes the chunk again.',
    )
    .requiredOption('--redis <url>', 'the Redis the server queues chunks in, e.g. redis://127.0.0.1:6379')
    .option('--concurrency <n>', 'chunks computed at once, each on a thread of its own', '1')
    .option('--engine-threads <n>', 'threads of the engine per chunk (native/wasm)', '1')
    .option('--lock-duration <ms>', "how long a chunk's lock lasts without renewal (default 30000)")
    .option('--stalled-interval <ms>', 'how often to look for chunks whose worker died (default 15000)')
    .action(async (flags: WorkerFlags) => {
      const worker = await ChunkWorker.start({
        redis: flags.redis,
        concurrency: positiveInteger(flags.concurrency, '--concurrency'),
        engineThreads: positiveInteger(flags.engineThreads, '--engine-threads'),
        retry: {
          ...(flags.lockDuration !== undefined
            ? { lockDuration: positiveInteger(flags.lockDuration, '--lock-duration') }
            : {}),
          ...(flags.stalledInterval !== undefined
            ? { stalledInterval: positiveInteger(flags.stalledInterval, '--stalled-interval') }
            : {}),
        },
        onChunk: (e) => io.stderr(chunkLine(e)),
      });
      io.stderr(
        `advkit worker: taking evaluation chunks from ${shown(flags.redis)} (concurrency ${flags.concurrency})\n`,
      );
      const signal = await untilSignal();
      io.stderr(`advkit worker: ${signal}: finishing the chunks in hand, then stopping\n`);
      await worker.close();
      io.stderr('advkit worker: stopped\n');
    });
}
