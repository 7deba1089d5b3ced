/**
 * Structured errors. Every user mistake becomes an AdvkitError with a code that the CLI maps to an exit
 * code (and the server, later, to an HTTP status). The message says what was wrong and what is expected.
 */
export type ErrorCode =
  | 'INVALID_ARGUMENT' // a bad option value or combination
  | 'NOT_FOUND' // a file, dataset or model that is not where we looked
  | 'CORRUPT_DATA' // a file exists but its content is wrong (magic, size, checksum)
  | 'UNSUPPORTED' // valid request the current backend/model cannot do
  | 'NETWORK' // a download failed
  | 'ABORTED' // the caller's AbortSignal stopped the work (Ctrl-C in the CLI)
  | 'INTERNAL'; // a bug: not the user's fault

export class AdvkitError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'AdvkitError';
    this.code = code;
    this.details = details;
  }
}

/** Codes that mean the user asked for something wrong (as opposed to the program failing). */
export function isUserError(err: unknown): err is AdvkitError {
  return err instanceof AdvkitError && err.code !== 'INTERNAL';
}

export function invalidArgument(message: string, details?: Record<string, unknown>): AdvkitError {
  return new AdvkitError('INVALID_ARGUMENT', message, details);
}
