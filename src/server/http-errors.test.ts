import { describe, expect, it } from 'vitest';
import { AdvkitError } from '../errors.js';
import { errorBody, HttpError, statusFor } from './http-errors.js';

describe('http-errors', () => {
  it('maps every advkit code to its status', () => {
    const cases: [AdvkitError['code'], number][] = [
      ['INVALID_ARGUMENT', 400],
      ['NOT_FOUND', 404],
      ['CORRUPT_DATA', 422],
      ['UNSUPPORTED', 422],
      ['ABORTED', 499],
      ['NETWORK', 500],
      ['INTERNAL', 500],
    ];
    for (const [code, status] of cases) expect(statusFor(new AdvkitError(code, 'x')), code).toBe(status);
    expect(statusFor(new Error('boom'))).toBe(500);
    expect(statusFor('a string')).toBe(500);
    expect(statusFor(new HttpError(429, 'BUSY', 'busy'))).toBe(429);
  });

  it("keeps a user's message and hides an internal one", () => {
    expect(errorBody(new AdvkitError('NOT_FOUND', 'No model named x.'))).toEqual({
      code: 'NOT_FOUND',
      message: 'No model named x.',
    });
    const hidden = errorBody(new AdvkitError('INTERNAL', 'at /srv/advkit/secret.ts:3'));
    expect(hidden.code).toBe('INTERNAL');
    expect(hidden.message).not.toContain('/srv');
    expect(errorBody(new TypeError('x is undefined')).message).not.toContain('undefined');
  });

  it("maps Fastify's client errors to 400, 413 and 415 with what is expected", () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), {
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
      statusCode: 413,
    });
    expect(statusFor(tooLarge)).toBe(413);
    expect(errorBody(tooLarge)).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: expect.stringMatching(/fewer or smaller/),
    });
    const media = Object.assign(new Error('Unsupported Media Type: text/csv'), { statusCode: 415 });
    expect(errorBody(media)).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: expect.stringMatching(/multipart/),
    });
    const validation = Object.assign(new Error('body/n must be integer'), {
      statusCode: 400,
      validation: [{}],
    });
    expect(statusFor(validation)).toBe(400);
    expect(errorBody(validation).message).toMatch(/schema: body\/n must be integer/);
  });
});
