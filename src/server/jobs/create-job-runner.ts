import { BullmqChunkDispatcher } from './bullmq-chunks.js';
import type { ChunkRetrySettings } from './bullmq-settings.js';
import { EmbeddedJobRunner, type EmbeddedRunnerOptions } from './embedded-runner.js';
import type { JobRunner } from './job-runner.js';

export interface JobRunnerOptions extends Omit<EmbeddedRunnerOptions, 'chunks'> {
  /** redis://host:port: the evaluations' chunks go to BullMQ, for `advkit worker` processes on any machine. */
  redis?: string;
  /** Overrides of the chunks' retry settings (tests shorten them). */
  retry?: Partial<ChunkRetrySettings>;
}

/**
 * The job runner `advkit serve` uses: the embedded one (jobs and their state under `stateDir`, each evaluation in a
 * thread), with the chunks of every stage sent to BullMQ when `redis` is given. Either way the jobs, their files,
 * resume and the HTTP routes are the same; only where the chunks compute differs.
 */
export async function createJobRunner(opts: JobRunnerOptions): Promise<JobRunner> {
  const { redis, retry, ...embedded } = opts;
  const chunks = redis === undefined ? undefined : await BullmqChunkDispatcher.open({ redis, retry });
  try {
    return await EmbeddedJobRunner.open({ ...embedded, chunks });
  } catch (err) {
    await chunks?.close();
    throw err;
  }
}
