import { AdvkitError, type ErrorCode } from '../errors.js';

/** An error as plain data, for a thread's answer: an AdvkitError's class does not survive the thread hop. */
export interface ThreadError {
  code: ErrorCode;
  message: string;
  /** Where an unexpected error came from (INTERNAL only), for the log. */
  stack?: string;
}

/** An AdvkitError keeps its code and message; anything else is INTERNAL with its stack. */
export function threadError(err: unknown): ThreadError {
  if (err instanceof AdvkitError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message, ...(err instanceof Error ? { stack: err.stack } : {}) };
}
