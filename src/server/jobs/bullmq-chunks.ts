import { FlowProducer, Queue, QueueEvents, Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { AdvkitError, type ErrorCode } from '../../errors.js';
import type { ChunkRecord } from '../../evaluate/evaluation-state.js';
import type { EvaluationChunkRequest } from '../../tasks/evaluate.js';
import {
  BULLMQ_PREFIX,
  CHUNK_RETRY,
  CHUNKS_QUEUE,
  chunkField,
  recordsKey,
  redisConnection,
  STAGES_QUEUE,
  type ChunkJobData,
  type ChunkRetrySettings,
} from './bullmq-settings.js';
import type { ChunkDispatcher } from './embedded-runner.js';

export interface BullmqChunksOptions {
  /** redis://host:port */
  redis: string;
  /** Overrides of the retry settings (tests shorten them). */
  retry?: Partial<ChunkRetrySettings>;
}

/** How long finished stage and chunk jobs stay in Redis (for inspection) before BullMQ removes them. */
const KEEP_FINISHED = { age: 24 * 3600 };

interface Dispatched {
  stageId: string;
  chunkIds: string[];
}

/**
 * The coordinator's side of the BullMQ backend: for each stage of an evaluation, a flow of one parent job with one
 * child job per chunk that is not yet done; `advkit worker` processes the children anywhere (chunk-worker.ts) and
 * writes each record once (HSETNX) into the job's records hash; the coordinator's own light worker completes the
 * parent once every child is done, and the evaluation thread gets the records, read back from the hash, in request
 * order. A chunk run twice (a worker killed after writing, a coordinator restarted mid-stage) is stored once.
 */
export class BullmqChunkDispatcher implements ChunkDispatcher {
  private readonly dispatched = new Map<string, Set<Dispatched>>();
  private readonly retry: ChunkRetrySettings;

  private constructor(
    private readonly flows: FlowProducer,
    private readonly chunks: Queue<ChunkJobData>,
    private readonly stages: Queue,
    private readonly stageWorker: Worker,
    private readonly events: QueueEvents,
    retry: Partial<ChunkRetrySettings>,
  ) {
    this.retry = { ...CHUNK_RETRY, ...retry };
  }

  static async open(opts: BullmqChunksOptions): Promise<BullmqChunkDispatcher> {
    const connection = redisConnection(opts.redis);
    const common = { connection, prefix: BULLMQ_PREFIX };
    const flows = new FlowProducer(common);
    const chunks = new Queue<ChunkJobData>(CHUNKS_QUEUE, common);
    const stages = new Queue(STAGES_QUEUE, common);
    // A stage's parent carries no work: it is done when its children are.
    const stageWorker = new Worker(STAGES_QUEUE, async () => 'stage done', { ...common, concurrency: 64 });
    const events = new QueueEvents(STAGES_QUEUE, common);
    const dispatcher = new BullmqChunkDispatcher(
      flows,
      chunks,
      stages,
      stageWorker,
      events,
      opts.retry ?? {},
    );
    try {
      await Promise.all([
        flows.waitUntilReady(),
        chunks.waitUntilReady(),
        stageWorker.waitUntilReady(),
        events.waitUntilReady(),
      ]);
    } catch (err) {
      await dispatcher.close();
      throw new AdvkitError(
        'NETWORK',
        `Cannot reach Redis at ${opts.redis}: ${err instanceof Error ? err.message : String(err)}.`,
      );
    }
    return dispatcher;
  }

  async run(
    jobId: string,
    spec: Record<string, unknown>,
    requests: EvaluationChunkRequest[],
    signal: AbortSignal,
  ): Promise<ChunkRecord[]> {
    throwIfAborted(signal);
    const client = await this.chunks.backend.client;
    const key = recordsKey(jobId);
    const fields = requests.map(chunkField);
    // Chunks a worker finished before a restart of this coordinator need not run again.
    const stored = fields.length === 0 ? [] : await client.hmget(key, ...fields);
    const missing = requests.filter((_, i) => stored[i] === null);
    if (missing.length > 0) await this.runStage(jobId, spec, missing, signal);
    const values = fields.length === 0 ? [] : await client.hmget(key, ...fields);
    return values.map((value, i) => {
      if (value === null) {
        throw new AdvkitError('INTERNAL', `Chunk ${fields[i]} of job ${jobId} completed without a record.`);
      }
      return JSON.parse(value) as ChunkRecord;
    });
  }

  private async runStage(
    jobId: string,
    spec: Record<string, unknown>,
    requests: EvaluationChunkRequest[],
    signal: AbortSignal,
  ): Promise<void> {
    // Fresh ids per dispatch: a stage dispatched again (a restarted coordinator) is a new flow, never a job
    // BullMQ would take for one it already has.
    const stageId = `${jobId}.${randomUUID()}`;
    const chunkIds = requests.map((r) => `${stageId}.${chunkField(r).replaceAll('/', '.')}`);
    const entry: Dispatched = { stageId, chunkIds };
    const mine = this.dispatched.get(jobId) ?? new Set();
    this.dispatched.set(jobId, mine);
    mine.add(entry);
    try {
      await this.flows.add({
        name: 'stage',
        queueName: STAGES_QUEUE,
        data: { jobId },
        opts: { jobId: stageId, removeOnComplete: KEEP_FINISHED, removeOnFail: KEEP_FINISHED },
        children: requests.map((request, i) => ({
          name: 'chunk',
          queueName: CHUNKS_QUEUE,
          data: { jobId, spec, request } satisfies ChunkJobData,
          opts: {
            jobId: chunkIds[i],
            attempts: this.retry.attempts,
            backoff: { type: 'exponential', delay: this.retry.backoffMs },
            failParentOnFailure: true,
            removeOnComplete: KEEP_FINISHED,
            removeOnFail: KEEP_FINISHED,
          },
        })),
      });
      await abortable(waitForStage(this.events, this.stages, stageId), signal);
    } catch (err) {
      if (signal.aborted) throw new AdvkitError('ABORTED', `Evaluation job ${jobId} was cancelled.`);
      throw await this.stageFailure(jobId, chunkIds, err);
    } finally {
      mine.delete(entry);
    }
  }

  /** The stage failed: the first failed chunk's reason (the parent only says that a child failed). */
  private async stageFailure(jobId: string, chunkIds: string[], err: unknown): Promise<AdvkitError> {
    if (err instanceof AdvkitError) return err;
    for (const id of chunkIds) {
      const job = await this.chunks.getJob(id).catch(() => undefined);
      if (job?.failedReason) return chunkError(jobId, job.failedReason);
    }
    return chunkError(jobId, err instanceof Error ? err.message : String(err));
  }

  async forget(jobId: string): Promise<void> {
    for (const { stageId, chunkIds } of this.dispatched.get(jobId) ?? []) {
      // A chunk a worker holds cannot be removed; it ends on its own and its record is dropped below.
      for (const id of chunkIds) await this.chunks.remove(id).catch(() => 0);
      await this.stages.remove(stageId).catch(() => 0);
    }
    this.dispatched.delete(jobId);
    const client = await this.chunks.backend.client;
    await client.del(recordsKey(jobId));
  }

  async close(): Promise<void> {
    await Promise.allSettled([
      this.stageWorker.close(),
      this.events.close(),
      this.flows.close(),
      this.chunks.close(),
      this.stages.close(),
    ]);
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new AdvkitError('ABORTED', 'The evaluation was cancelled.');
}

/**
 * Resolves when the stage's parent job completes, rejects with its reason when it fails. BullMQ's
 * `Job.waitUntilFinished` polls Redis inside an async Promise executor, so a connection closed at the wrong moment
 * becomes an unhandled rejection (which the wasm backend turns into a crash); this wait catches every error.
 */
function waitForStage(events: QueueEvents, stages: Queue, stageId: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      events.off('completed', onCompleted);
      events.off('failed', onFailed);
    };
    const onCompleted = ({ jobId }: { jobId: string }): void => {
      if (jobId !== stageId) return;
      cleanup();
      resolve();
    };
    const onFailed = ({ jobId, failedReason }: { jobId: string; failedReason?: string }): void => {
      if (jobId !== stageId) return;
      cleanup();
      reject(new Error(failedReason || 'the stage failed'));
    };
    events.on('completed', onCompleted);
    events.on('failed', onFailed);
    // The stage may have ended before the listeners were in place: look once, once the events are flowing.
    events
      .waitUntilReady()
      .then(() => stages.getJob(stageId))
      .then(async (job) => {
        const state = job === undefined ? 'unknown' : await job.getState();
        if (state === 'completed') onCompleted({ jobId: stageId });
        else if (state === 'failed') onFailed({ jobId: stageId, failedReason: job?.failedReason });
      })
      .catch((err: unknown) => {
        cleanup();
        reject(err instanceof Error ? err : new Error(String(err)));
      });
  });
}

function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AdvkitError('ABORTED', 'The evaluation was cancelled.'));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

const CODES = new Set(['INVALID_ARGUMENT', 'NOT_FOUND', 'CORRUPT_DATA', 'UNSUPPORTED', 'NETWORK']);

/**
 * Why a chunk failed, from the reason BullMQ kept: a worker that refused it writes its AdvkitError as
 * `CODE: message`, which becomes the job's error again; anything else is INTERNAL.
 */
function chunkError(jobId: string, reason: string): AdvkitError {
  const coded = /^([A-Z_]+): ([\s\S]*)$/.exec(reason);
  if (coded !== null && CODES.has(coded[1])) return new AdvkitError(coded[1] as ErrorCode, coded[2]);
  return new AdvkitError('INTERNAL', `A chunk of evaluation job ${jobId} failed: ${reason}`);
}
