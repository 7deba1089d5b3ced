import { AdvkitError, type ErrorCode } from '../errors.js';

/**
 * One mapping from advkit's error codes to HTTP statuses, so every route answers a mistake the same way: a
 * client learns from the status whether to fix its request (4xx) or retry later (5xx), and from the JSON body
 * `{ code, message }` what was wrong and what is expected.
 */
const STATUS: Readonly<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  CORRUPT_DATA: 422,
  UNSUPPORTED: 422,
  // nginx's "client closed request": nobody reads it, but logs and metrics tell it from a failure.
  ABORTED: 499,
  NETWORK: 500,
  INTERNAL: 500,
};

/**
 * A refusal that is about the server's state rather than the request's content (busy: 429, shutting down:
 * 503), which no AdvkitError code describes. `retryAfter` (seconds) becomes the Retry-After header.
 */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly retryAfter?: number;

  constructor(statusCode: number, code: string, message: string, opts: { retryAfter?: number } = {}) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
    this.retryAfter = opts.retryAfter;
  }
}

/** An error Fastify (or one of its plugins) raised, told apart by its `FST_`/`statusCode` fields. */
interface FrameworkError {
  code?: unknown;
  statusCode?: unknown;
  validation?: unknown;
  message?: unknown;
}

function frameworkError(err: unknown): FrameworkError | undefined {
  return typeof err === 'object' && err !== null && !(err instanceof AdvkitError)
    ? (err as FrameworkError)
    : undefined;
}

/** A framework error's own 4xx status (validation, body limit, content type, rate limit), else undefined. */
function frameworkStatus(err: unknown): number | undefined {
  const fe = frameworkError(err);
  if (fe === undefined) return undefined;
  if (fe.validation !== undefined) return 400;
  const status = fe.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

/** The HTTP status of an error: AdvkitError by code, Fastify's own client errors by theirs, else 500. */
export function statusFor(err: unknown): number {
  if (err instanceof AdvkitError) return STATUS[err.code] ?? 500;
  if (err instanceof HttpError) return err.statusCode;
  return frameworkStatus(err) ?? 500;
}

/** Words for Fastify's client errors that say what the server expects, not only what failed. */
function frameworkMessage(status: number, fe: FrameworkError): string {
  const said = typeof fe.message === 'string' ? fe.message : '';
  switch (status) {
    case 413:
      return (
        `The request body is too large (${said}); send fewer or smaller images, or raise the server's ` +
        '--body-limit.'
      );
    case 415:
      return `${said}. Send application/json or multipart/form-data.`;
    case 429:
      return said !== '' ? said : 'Too many requests; retry after the time in the Retry-After header.';
    default:
      return fe.validation !== undefined
        ? `The request does not match the route's schema: ${said}.`
        : said || `The request was refused (HTTP ${status}).`;
  }
}

function frameworkCode(
  status: number,
): ErrorCode | 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'RATE_LIMITED' {
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 415) return 'UNSUPPORTED_MEDIA_TYPE';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 404) return 'NOT_FOUND';
  return 'INVALID_ARGUMENT';
}

/**
 * The JSON body of an error response. A user's mistake keeps its message; an internal error hides its details
 * (they may hold paths and stack traces of the server) behind a fixed sentence, and the server logs them.
 */
export function errorBody(err: unknown): { code: string; message: string } {
  if (err instanceof AdvkitError) {
    return err.code === 'INTERNAL' || err.code === 'NETWORK'
      ? { code: 'INTERNAL', message: 'Internal server error; the server logged the details.' }
      : { code: err.code, message: err.message };
  }
  if (err instanceof HttpError) return { code: err.code, message: err.message };
  const status = frameworkStatus(err);
  const fe = frameworkError(err);
  if (status !== undefined && fe !== undefined) {
    return { code: frameworkCode(status), message: frameworkMessage(status, fe) };
  }
  return { code: 'INTERNAL', message: 'Internal server error; the server logged the details.' };
}
