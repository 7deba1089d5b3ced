import { existsSync } from 'node:fs';
import path from 'node:path';
import { Piscina } from 'piscina';
import { AdvkitError } from '../errors.js';
import type { Artifact, TaskResult } from '../tasks/task.js';
import { packageRoot } from '../util/node/package-root.js';
import type { ComputeRequest, ComputeResponse } from './compute-worker.js';
import { HttpError } from './http-errors.js';
import type { ServerMetrics } from './metrics.js';

export interface ComputePoolOptions {
  /** Compute threads (each runs one task at a time). */
  workers: number;
  /** Task runs that may wait for a thread; one more is refused with 429. */
  maxQueue: number;
  /** Threads of each worker's engine (native/wasm); default 1, so workers do not fight over the cores. */
  engineThreads?: number;
  metrics?: ServerMetrics;
  /** The compiled worker entry; default `<package root>/dist/server/compute-worker.js`. */
  workerFile?: string;
}

interface Pending {
  req: ComputeRequest;
  resolve: (out: { result: TaskResult; artifacts: Artifact[] }) => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
  /** Cancelled because the server is closing (answered 503, not ABORTED). */
  shutdown?: boolean;
}

/**
 * Task runs on worker threads (piscina), behind a bounded FIFO of our own: piscina's queue would hold every
 * request, and its abort terminates a running thread (and its warm backend); here a request waits in the
 * FIFO, is refused with 429 (Retry-After) when the FIFO is full, leaves it when its client goes, and a running
 * one is cancelled through a shared flag that the worker turns into the task's AbortSignal.
 */
export class ComputePool {
  private readonly piscina: Piscina;
  private readonly queue: Pending[] = [];
  private running = 0;
  /** The runs on a thread now, for drain(). */
  private readonly active_ = new Set<Pending>();
  private closed = false;

  constructor(private readonly opts: ComputePoolOptions) {
    const filename = opts.workerFile ?? path.join(packageRoot(), 'dist', 'server', 'compute-worker.js');
    if (!existsSync(filename)) {
      throw new AdvkitError(
        'INTERNAL',
        `The compute worker ${filename} is missing; build advkit first (npm run build).`,
      );
    }
    this.piscina = new Piscina({
      filename,
      minThreads: opts.workers,
      maxThreads: opts.workers,
      // A worker waits for work instead of exiting, so its backend and loaded code stay warm.
      idleTimeout: Number.POSITIVE_INFINITY,
    });
  }

  /** Runs waiting for a thread. */
  get queued(): number {
    return this.queue.length;
  }

  /** Runs on a thread now. */
  get active(): number {
    return this.running;
  }

  /** Whether a new run would be refused: every thread computes and the queue is full. */
  get saturated(): boolean {
    return this.running >= this.opts.workers && this.queue.length >= this.opts.maxQueue;
  }

  /** The refusal of a run when saturated: 429, with what is computing and waiting, and Retry-After. */
  busyError(): HttpError {
    return new HttpError(
      429,
      'BUSY',
      `The server is busy: ${this.running} task runs are computing and ${this.queue.length} are waiting ` +
        `(the queue holds ${this.opts.maxQueue}); retry after the time in Retry-After.`,
      { retryAfter: 5 },
    );
  }

  /**
   * Runs a task on a compute thread. Refused at once (429) when the queue is full; ABORTED when `signal`
   * fires, whether the run waits or computes.
   */
  run(
    task: ComputeRequest['task'],
    spec: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<{ result: TaskResult; artifacts: Artifact[] }> {
    if (this.closed) return Promise.reject(shuttingDown());
    if (signal?.aborted) return Promise.reject(aborted());
    if (this.saturated) return Promise.reject(this.busyError());
    const req: ComputeRequest = {
      task,
      spec,
      cancel: new SharedArrayBuffer(4),
      threads: this.opts.engineThreads ?? 1,
    };
    return new Promise((resolve, reject) => {
      const pending: Pending = { req, resolve, reject, signal };
      if (signal !== undefined) {
        pending.onAbort = () => this.cancel(pending);
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      this.queue.push(pending);
      this.pump();
    });
  }

  /**
   * Stops taking work and cancels what waits and what runs: each is answered 503 (shutting down) as soon as its
   * task stops, so that the server's close does not wait for long attacks. The threads keep running; `close`
   * ends them.
   */
  drain(): void {
    this.closed = true;
    for (const p of this.queue.splice(0)) this.settle(p, () => p.reject(shuttingDown()));
    for (const p of this.active_) {
      p.shutdown = true;
      Atomics.store(new Int32Array(p.req.cancel), 0, 1);
    }
    this.updateMetrics();
  }

  /** Drains, then ends the threads. */
  async close(): Promise<void> {
    this.drain();
    await this.piscina.destroy();
  }

  private cancel(p: Pending): void {
    const i = this.queue.indexOf(p);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.updateMetrics();
      this.settle(p, () => p.reject(aborted()));
      return;
    }
    // Running: the worker polls the flag and aborts the task, which then answers ABORTED.
    Atomics.store(new Int32Array(p.req.cancel), 0, 1);
  }

  private pump(): void {
    while (this.running < this.opts.workers && this.queue.length > 0) {
      const p = this.queue.shift();
      if (p === undefined) break;
      this.running++;
      this.active_.add(p);
      this.piscina
        .run(p.req)
        .then((out: ComputeResponse) => {
          if (out.ok) this.settle(p, () => p.resolve({ result: out.result, artifacts: out.artifacts }));
          else this.settle(p, () => p.reject(p.shutdown === true ? shuttingDown() : responseError(out)));
        })
        .catch((err: unknown) => this.settle(p, () => p.reject(p.shutdown === true ? shuttingDown() : err)))
        .finally(() => {
          this.running--;
          this.active_.delete(p);
          this.pump();
        });
    }
    this.updateMetrics();
  }

  private settle(p: Pending, done: () => void): void {
    if (p.onAbort !== undefined) p.signal?.removeEventListener('abort', p.onAbort);
    done();
  }

  private updateMetrics(): void {
    this.opts.metrics?.setQueueDepth(this.queue.length);
    this.opts.metrics?.computeRunning.set(this.running);
  }
}

function shuttingDown(): HttpError {
  return new HttpError(
    503,
    'UNAVAILABLE',
    'The server is shutting down; retry later or on another instance.',
    {
      retryAfter: 5,
    },
  );
}

function aborted(): AdvkitError {
  return new AdvkitError('ABORTED', 'The request was cancelled before its task finished.');
}

/** A worker's error as an AdvkitError again (INTERNAL keeps the worker's stack for the server's log). */
function responseError(out: Extract<ComputeResponse, { ok: false }>): AdvkitError {
  const codes = [
    'INVALID_ARGUMENT',
    'NOT_FOUND',
    'CORRUPT_DATA',
    'UNSUPPORTED',
    'NETWORK',
    'ABORTED',
  ] as const;
  const code = codes.find((c) => c === out.code) ?? 'INTERNAL';
  const err = new AdvkitError(code, out.message);
  if (out.stack !== undefined) err.stack = out.stack;
  return err;
}
