import { randomUUID } from 'node:crypto';
import { AdvkitError } from '../../errors.js';
import type { ChunkRecord } from '../../evaluate/evaluation-state.js';
import { resolveSuite } from '../../evaluate/suites.js';
import type { EvaluateProgress, EvaluationChunkRequest } from '../../tasks/evaluate.js';
import { EvaluationThread } from './evaluation-thread-handle.js';
import {
  FINISHED,
  jobProgress,
  notCompleted,
  QUEUED_PROGRESS,
  type EvaluationPlan,
  type JobEvent,
  type JobInfo,
  type JobRunner,
  type JobStatus,
} from './job-runner.js';
import { JobStore } from './job-store.js';

/**
 * Where the chunks of an evaluation run when not in its own thread: the BullMQ backend sends them to workers on
 * any machine (`bullmq-chunks.ts`). Every record comes back in the order of the requests.
 */
export interface ChunkDispatcher {
  run(
    jobId: string,
    spec: Record<string, unknown>,
    requests: EvaluationChunkRequest[],
    signal: AbortSignal,
  ): Promise<ChunkRecord[]>;
  /** Drops the job's chunks that no worker has started, and what was kept for it (a job that ended). */
  forget(jobId: string): Promise<void>;
  close(): Promise<void>;
}

export interface EmbeddedRunnerOptions {
  /** Root of the jobs' files (`<stateDir>/jobs/<id>/`). */
  stateDir: string;
  /** Jobs that run at once (default 1: an evaluation uses the cores it is given). */
  concurrency?: number;
  /**
   * Engine threads inside each evaluation thread (default 1). oneDNN's OpenMP team inside a worker thread spins
   * against itself unless OMP_WAIT_POLICY=passive was set before the process started: a 16-point MNIST
   * evaluation took 50 s with 2 threads and 4 s with 1 on two busy cores.
   */
  engineThreads?: number;
  /** Sends each stage's chunks elsewhere (BullMQ); without it the evaluation thread runs them. */
  chunks?: ChunkDispatcher;
  /** The server's metrics: jobs by state. */
  metrics?: { setJobs(state: string, count: number): void };
  /** The compiled thread entry (tests). */
  threadFile?: string;
}

/** How often at most a running job's progress is written to its status.json (memory always has the latest). */
const PROGRESS_WRITE_MS = 1000;

interface Running {
  thread?: EvaluationThread;
  controller: AbortController;
  cancelled: boolean;
}

/**
 * The default job backend: an in-process FIFO (concurrency 1 by default), each job's files on disk
 * (`job-store.ts`), each evaluation in a worker thread. A runner opened on a state dir picks up the jobs a
 * previous one left queued or running and resumes them: the evaluation's saved chunks are replayed, so the
 * result is that of an uninterrupted run.
 */
export class EmbeddedJobRunner implements JobRunner {
  private readonly store: JobStore;
  private readonly jobs = new Map<string, JobInfo>();
  private readonly queue: string[] = [];
  private readonly running = new Map<string, Running>();
  private readonly listeners = new Map<string, Set<(e: JobEvent) => void>>();
  private readonly lastWrite = new Map<string, number>();
  private readonly writes = new Map<string, Promise<void>>();
  /** Jobs on disk that ended, by how (for the metrics). */
  private readonly finished = new Map<JobStatus, number>();
  private readonly concurrency: number;
  private closed = false;

  private constructor(private readonly options: EmbeddedRunnerOptions) {
    this.store = new JobStore(options.stateDir);
    this.concurrency = options.concurrency ?? 1;
    if (!(Number.isInteger(this.concurrency) && this.concurrency >= 1)) {
      throw new AdvkitError(
        'INVALID_ARGUMENT',
        `concurrency must be a positive integer, got ${options.concurrency}.`,
      );
    }
  }

  /** A runner on `options.stateDir`, with the jobs a previous runner left queued or running queued again. */
  static async open(options: EmbeddedRunnerOptions): Promise<EmbeddedJobRunner> {
    const runner = new EmbeddedJobRunner(options);
    await runner.store.init();
    await runner.store.claim();
    for (const job of await runner.store.list()) {
      if (FINISHED.has(job.status))
        runner.finished.set(job.status, (runner.finished.get(job.status) ?? 0) + 1);
      if (job.status === 'queued' || job.status === 'running') {
        // A job a closed runner left running waits again; its saved chunks are replayed when it starts.
        if (job.status === 'running') {
          Object.assign(job, {
            status: 'queued',
            progress: { ...QUEUED_PROGRESS, detail: 'waiting to resume' },
          });
          await runner.persist(job);
        }
        runner.jobs.set(job.id, job);
        runner.queue.push(job.id);
      }
    }
    runner.updateMetrics();
    runner.pump();
    return runner;
  }

  async submit(spec: Record<string, unknown>): Promise<JobInfo> {
    if (this.closed) throw new AdvkitError('ABORTED', 'The job runner is closed; no job can be submitted.');
    const job: JobInfo = {
      id: randomUUID(),
      status: 'queued',
      progress: QUEUED_PROGRESS,
      notes: [],
      createdAt: new Date().toISOString(),
    };
    await this.store.create(job, spec);
    this.jobs.set(job.id, job);
    this.queue.push(job.id);
    this.updateMetrics();
    this.pump();
    return { ...job };
  }

  async get(id: string): Promise<JobInfo> {
    const live = this.jobs.get(id);
    if (live !== undefined && !FINISHED.has(live.status)) return { ...live };
    return this.store.readInfo(id);
  }

  async report(id: string): Promise<Uint8Array> {
    const job = await this.get(id);
    if (job.status !== 'completed') throw notCompleted(job);
    return this.store.readReport(id);
  }

  subscribe(id: string, listener: (event: JobEvent) => void): () => void {
    let set = this.listeners.get(id);
    if (set === undefined) this.listeners.set(id, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(id) === set) this.listeners.delete(id);
    };
  }

  async cancel(id: string): Promise<JobInfo> {
    const job = await this.get(id);
    if (FINISHED.has(job.status)) return job;
    const run = this.running.get(id);
    if (run !== undefined) {
      // The thread stops at its next step; runJob then records 'cancelled'.
      run.cancelled = true;
      run.controller.abort();
      run.thread?.abort();
      await this.options.chunks?.forget(id);
      return { ...job };
    }
    const at = this.queue.indexOf(id);
    if (at >= 0) this.queue.splice(at, 1);
    return this.finish(id, 'cancelled', {});
  }

  async depth(): Promise<number> {
    return this.queue.length + this.running.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    // Running jobs stay 'running' on disk: the next runner resumes them from their saved state.
    const runs = [...this.running.values()];
    for (const run of runs) run.controller.abort();
    await Promise.all(runs.map((run) => run.thread?.terminate()));
    await this.options.chunks?.close();
    this.listeners.clear();
    await this.store.release();
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.concurrency && this.queue.length > 0) {
      const id = this.queue.shift();
      if (id === undefined) break;
      const run: Running = { controller: new AbortController(), cancelled: false };
      this.running.set(id, run);
      void this.runJob(id, run).finally(() => {
        this.running.delete(id);
        this.updateMetrics();
        this.pump();
      });
    }
  }

  private async runJob(id: string, run: Running): Promise<void> {
    const job = this.jobs.get(id);
    if (job === undefined) return;
    try {
      const spec = await this.store.readSpec(id);
      const plan = planOf(spec);
      Object.assign(job, {
        status: 'running',
        startedAt: job.startedAt ?? new Date().toISOString(),
        progress: { fraction: 0, stage: 'starting', detail: 'loading the model and the data' },
      } satisfies Partial<JobInfo>);
      await this.persist(job);
      this.updateMetrics();
      this.emit(id, { type: 'status', job: { ...job } });
      // Closed while this job was starting: it stays for the next runner, and no thread outlives close().
      if (this.closed) return;
      const dispatcher = this.options.chunks;
      const thread = new EvaluationThread(
        { spec, stateDir: this.store.evaluationDir(id), threads: this.options.engineThreads ?? 1 },
        {
          file: this.options.threadFile,
          onProgress: (p) => this.progress(job, p, plan),
          onNote: (note) => {
            job.notes.push(note);
            void this.persist(job).catch(() => undefined);
          },
          executeChunks:
            dispatcher === undefined
              ? undefined
              : (requests) => dispatcher.run(id, spec, requests, run.controller.signal),
        },
      );
      run.thread = thread;
      if (run.controller.signal.aborted) thread.abort();
      const out = await thread.done;
      await this.store.writeResult(id, out.result, out.report);
      await this.finish(id, 'completed', { progress: { fraction: 1, stage: 'done', detail: 'completed' } });
    } catch (err) {
      // A closing runner leaves the job 'running' on disk, for the next one to resume.
      if (this.closed && !run.cancelled) return;
      if (run.cancelled) await this.finish(id, 'cancelled', {});
      else {
        const error =
          err instanceof AdvkitError
            ? { code: err.code, message: err.message }
            : { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
        await this.finish(id, 'failed', { error });
      }
    } finally {
      if (this.options.chunks !== undefined && !this.closed)
        await this.options.chunks.forget(id).catch(() => undefined);
    }
  }

  private progress(job: JobInfo, p: EvaluateProgress, plan: EvaluationPlan): void {
    const next = jobProgress(p, plan);
    job.progress = { ...next, fraction: Math.max(job.progress.fraction, next.fraction) };
    this.emit(job.id, { type: 'progress', progress: job.progress });
    const now = Date.now();
    if (now - (this.lastWrite.get(job.id) ?? 0) >= PROGRESS_WRITE_MS) {
      this.lastWrite.set(job.id, now);
      void this.persist(job).catch(() => undefined);
    }
  }

  private async finish(id: string, status: JobStatus, fields: Partial<JobInfo>): Promise<JobInfo> {
    const job = this.jobs.get(id) ?? (await this.store.readInfo(id));
    Object.assign(job, fields, { status, finishedAt: new Date().toISOString() });
    // No longer counted in depth() from the moment get() can report it finished, even before runJob has returned.
    this.running.delete(id);
    if (status === 'cancelled') job.progress = { ...job.progress, stage: 'cancelled', detail: 'cancelled' };
    if (status === 'failed')
      job.progress = { ...job.progress, stage: 'failed', detail: job.error?.message ?? '' };
    await this.persist(job);
    this.jobs.delete(id);
    this.finished.set(status, (this.finished.get(status) ?? 0) + 1);
    this.lastWrite.delete(id);
    const info = await this.store.readInfo(id);
    this.emit(id, { type: 'status', job: info });
    this.listeners.delete(id);
    this.updateMetrics();
    return info;
  }

  /**
   * Writes the job's status as it is now, after any write still under way for it: two renames in flight could
   * land in either order, and a progress write landing after the final one would undo 'completed'.
   */
  private persist(job: JobInfo): Promise<void> {
    const snapshot: JobInfo = { ...job, notes: [...job.notes] };
    const previous = this.writes.get(job.id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.store.writeInfo(snapshot));
    this.writes.set(job.id, next);
    void next
      .finally(() => {
        if (this.writes.get(job.id) === next) this.writes.delete(job.id);
      })
      .catch(() => undefined);
    return next;
  }

  private emit(id: string, event: JobEvent): void {
    for (const listener of this.listeners.get(id) ?? []) listener(event);
  }

  private updateMetrics(): void {
    const metrics = this.options.metrics;
    if (metrics === undefined) return;
    metrics.setJobs('queued', this.queue.length);
    metrics.setJobs('running', this.running.size);
    for (const status of FINISHED) metrics.setJobs(status, this.finished.get(status) ?? 0);
  }
}

/** The stages of an evaluation as far as the spec says (three budgets and the standard suite when it does not). */
function planOf(spec: Record<string, unknown>): EvaluationPlan {
  const eps = typeof spec.eps === 'string' ? spec.eps.split(',').length : 3;
  try {
    const suite = typeof spec.suite === 'string' ? spec.suite : 'standard';
    const norm = spec.norm === 'l2' || spec.norm === 'l1' ? spec.norm : 'linf';
    return { eps, attacks: Math.max(1, resolveSuite(suite, norm).entries.length) };
  } catch {
    // A suite the task will refuse: the job fails at once, and its progress does not matter.
    return { eps, attacks: 1 };
  }
}
