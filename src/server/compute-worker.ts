import { readlinkSync } from 'node:fs';
import os from 'node:os';
import { initNodeBackend } from '../backend/node-backend.js';
import { AdvkitError } from '../errors.js';
import { threadError } from './thread-error.js';
import { attackTask } from '../tasks/attack.js';
import { explainTask } from '../tasks/explain.js';
import { predictTask } from '../tasks/predict.js';
import { keepModelsOpen } from '../tasks/model-cache.js';
import type { Artifact, TaskResult } from '../tasks/task.js';

/**
 * The entry of a compute thread (piscina runs the compiled file, dist/server/compute-worker.js): one task run
 * per call, off the server's event loop, so health checks and uploads are answered while attacks compute.
 * Cancellation is cooperative: the server sets a shared flag (a client left, the request timed out) that this
 * thread turns into the task's AbortSignal, so the thread survives and its backend stays warm.
 */
export interface ComputeRequest {
  task: 'predict' | 'attack' | 'explain';
  spec: Record<string, unknown>;
  /** Int32Array over it: [0] becomes 1 when the caller cancels. */
  cancel: SharedArrayBuffer;
  /** Threads of the native engine or wasm in this worker. */
  threads: number;
}

/** A task's output, or its error as plain data (an AdvkitError's class does not survive the thread hop). */
export type ComputeResponse =
  | { ok: true; result: TaskResult; artifacts: Artifact[] }
  | { ok: false; code: string; message: string; stack?: string };

let backend: Promise<string> | undefined;
/** Models each compute thread keeps loaded: the bundled set is seven, most of them small. */
const MODELS_KEPT_OPEN = 8;

/**
 * Lowers this thread's CPU priority (nice 10; Linux sets priorities per thread), so that on busy cores the
 * server's event loop, which answers /healthz, uploads and 429s, runs before the task computing here. Elsewhere,
 * or without /proc, the thread keeps the process's priority.
 */
function lowerPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) os.setPriority(tid, 10);
  } catch {
    // not Linux, or not allowed: the priority is a courtesy, not a requirement
  }
}
lowerPriority();
// The served models stay loaded between requests in this thread (reloading one cost 10x its forward pass).
keepModelsOpen(MODELS_KEPT_OPEN);

const TASKS = { predict: predictTask, attack: attackTask, explain: explainTask } as const;

export default async function run(req: ComputeRequest): Promise<ComputeResponse> {
  const flag = new Int32Array(req.cancel);
  const controller = new AbortController();
  // Tasks yield between batches and steps, so a poll is enough; a cancel lands within one step.
  const poll = setInterval(() => {
    if (Atomics.load(flag, 0) === 1) controller.abort();
  }, 25);
  try {
    backend ??= initNodeBackend({ threads: req.threads });
    await backend;
    if (Atomics.load(flag, 0) === 1) controller.abort();
    const task = TASKS[req.task];
    // The spec was checked by the guard and is checked again by the task's parseSpec.
    const out = await task.run(req.spec as never, { signal: controller.signal });
    return { ok: true, result: out.result, artifacts: out.artifacts };
  } catch (err) {
    if (!(err instanceof AdvkitError) && controller.signal.aborted)
      return { ok: false, code: 'ABORTED', message: 'The request was cancelled.' };
    return { ok: false, ...threadError(err) };
  } finally {
    clearInterval(poll);
  }
}
