import type { ErrorCode } from '../../errors.js';
import type { ChunkRecord } from '../../evaluate/evaluation-state.js';
import type { EvaluateProgress, EvaluateResult, EvaluationChunkRequest } from '../../tasks/evaluate.js';

/** The messages between a job runner and its evaluation thread (plain data: they cross a thread). */
export interface ThreadInput {
  spec: Record<string, unknown>;
  stateDir: string;
  /** Threads of the engine inside the thread. */
  threads: number;
  /** Hand each stage's chunks to the runner instead of running them in the thread. */
  distributed: boolean;
}

/** Thread -> runner. */
export type ThreadMessage =
  | { type: 'progress'; progress: EvaluateProgress }
  | { type: 'note'; note: string }
  | { type: 'chunks'; call: number; requests: EvaluationChunkRequest[] }
  | { type: 'done'; result: EvaluateResult; report: Uint8Array }
  | { type: 'failed'; code: ErrorCode; message: string; stack?: string };

/** Runner -> thread. */
export type ThreadReply =
  | { type: 'abort' }
  | { type: 'chunks-done'; call: number; records: ChunkRecord[] }
  | { type: 'chunks-failed'; call: number; code: ErrorCode; message: string };
