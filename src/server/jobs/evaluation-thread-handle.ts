import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AdvkitError } from '../../errors.js';
import type { ChunkRecord } from '../../evaluate/evaluation-state.js';
import type { EvaluateProgress, EvaluateResult, EvaluationChunkRequest } from '../../tasks/evaluate.js';
import { packageRoot } from '../../util/node/package-root.js';
import type { ThreadInput, ThreadMessage, ThreadReply } from './evaluation-thread-protocol.js';

export interface EvaluationThreadHooks {
  onProgress: (p: EvaluateProgress) => void;
  onNote: (note: string) => void;
  /** Runs one stage's chunks elsewhere (the queue); without it the thread runs them. */
  executeChunks?: (requests: EvaluationChunkRequest[]) => Promise<ChunkRecord[]>;
  /** The compiled entry; default `<package root>/dist/server/jobs/evaluation-thread.js`. */
  file?: string;
}

export interface EvaluationOutput {
  result: EvaluateResult;
  report: Uint8Array;
}

/**
 * One evaluate task run in a worker thread of its own (a fresh thread per job: its model, data and tensors are
 * gone with it). `abort()` asks the task to stop (it rejects with ABORTED at its next step); `terminate()` stops
 * the thread where it is, as a kill would (the saved state lets a later run resume).
 */
export class EvaluationThread {
  readonly done: Promise<EvaluationOutput>;
  private readonly worker: Worker;
  private finished = false;

  constructor(input: Omit<ThreadInput, 'distributed'>, hooks: EvaluationThreadHooks) {
    const file = hooks.file ?? path.join(packageRoot(), 'dist', 'server', 'jobs', 'evaluation-thread.js');
    if (!existsSync(file)) {
      throw new AdvkitError(
        'INTERNAL',
        `The evaluation thread ${file} is missing; build advkit first (npm run build).`,
      );
    }
    const threadInput: ThreadInput = { ...input, distributed: hooks.executeChunks !== undefined };
    this.worker = new Worker(file, { workerData: threadInput });
    this.done = new Promise<EvaluationOutput>((resolve, reject) => {
      const settle = (fn: () => void): void => {
        if (this.finished) return;
        this.finished = true;
        fn();
      };
      this.worker.on('message', (m: ThreadMessage) => {
        switch (m.type) {
          case 'progress':
            hooks.onProgress(m.progress);
            break;
          case 'note':
            hooks.onNote(m.note);
            break;
          case 'chunks':
            this.runChunks(m.call, m.requests, hooks);
            break;
          case 'done':
            settle(() => resolve({ result: m.result, report: m.report }));
            break;
          case 'failed':
            settle(() =>
              reject(new AdvkitError(m.code, m.message, m.stack ? { stack: m.stack } : undefined)),
            );
            break;
        }
      });
      this.worker.on('error', (err) =>
        settle(() => reject(new AdvkitError('INTERNAL', `The evaluation thread crashed: ${err.message}`))),
      );
      this.worker.on('exit', (code) =>
        settle(() =>
          reject(
            new AdvkitError(
              'ABORTED',
              `The evaluation thread stopped (exit code ${code}) before it finished.`,
            ),
          ),
        ),
      );
    });
  }

  /** Asks the task to stop at its next step; `done` then rejects with ABORTED. */
  abort(): void {
    if (!this.finished) this.post({ type: 'abort' });
  }

  /** Stops the thread now (`done` rejects with ABORTED). */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private runChunks(call: number, requests: EvaluationChunkRequest[], hooks: EvaluationThreadHooks): void {
    const execute = hooks.executeChunks;
    if (execute === undefined) return;
    execute(requests).then(
      (records) => this.post({ type: 'chunks-done', call, records }),
      (err: unknown) =>
        this.post({
          type: 'chunks-failed',
          call,
          code: err instanceof AdvkitError ? err.code : 'INTERNAL',
          message: err instanceof Error ? err.message : String(err),
        }),
    );
  }

  private post(reply: ThreadReply): void {
    if (!this.finished) this.worker.postMessage(reply);
  }
}
