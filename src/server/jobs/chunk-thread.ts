import { initNodeBackend } from '../../backend/node-backend.js';
import type { ErrorCode } from '../../errors.js';
import { threadError } from '../thread-error.js';
import type { ChunkRecord } from '../../evaluate/evaluation-state.js';
import { runEvaluationChunk } from '../../tasks/evaluate-chunk.js';
import type { EvaluateSpec, EvaluationChunkRequest } from '../../tasks/evaluate.js';

/**
 * The entry of a chunk worker's compute thread (piscina runs the compiled file,
 * dist/server/jobs/chunk-thread.js): one chunk per call, off the worker's event loop so that BullMQ keeps renewing
 * the chunk's lock while it computes. The evaluation (model, data) stays open between calls, since a job's chunks
 * arrive in runs.
 */
export interface ChunkThreadRequest {
  spec: Record<string, unknown>;
  request: EvaluationChunkRequest;
  /** Threads of the engine in this thread. */
  threads: number;
}

/** The record, or the error as plain data (an AdvkitError's class does not survive the thread hop). */
export type ChunkThreadResponse =
  { ok: true; record: ChunkRecord } | { ok: false; code: ErrorCode; message: string };

let backend: Promise<string> | undefined;

export default async function run(req: ChunkThreadRequest): Promise<ChunkThreadResponse> {
  try {
    backend ??= initNodeBackend({ threads: req.threads });
    await backend;
    // The spec was guarded by the server; the task's parseSpec checks it again inside runEvaluationChunk.
    return { ok: true, record: await runEvaluationChunk(req.spec as EvaluateSpec, req.request) };
  } catch (err) {
    // BullMQ keeps only the message as the chunk's failure reason: an unexpected error carries its stack in it.
    const { code, message, stack } = threadError(err);
    return { ok: false, code, message: stack ?? message };
  }
}
