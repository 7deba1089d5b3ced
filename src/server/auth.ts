import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './http-errors.js';

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/**
 * Bearer API keys. Keys are compared as SHA-256 digests with `timingSafeEqual`: hashing first gives both sides
 * the same length (timingSafeEqual needs it, and a length check would leak the key's length), and every key is
 * compared, so the time does not say which key, or how much of one, matched.
 */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  /** The caller's bearer token, or undefined when the request has none. */
  static token(req: FastifyRequest): string | undefined {
    const header = req.headers.authorization;
    if (typeof header !== 'string') return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }

  /** Whether `token` is one of the keys, every key compared in constant time. */
  valid(token: string): boolean {
    const given = digest(token);
    let ok = false;
    for (const d of this.digests) ok = timingSafeEqual(d, given) || ok;
    return ok;
  }

  /** Throws 401 unless the request carries one of the keys. */
  check(req: FastifyRequest): void {
    const token = ApiKeys.token(req);
    if (token === undefined) {
      throw new HttpError(
        401,
        'UNAUTHENTICATED',
        'This server needs an API key: send "Authorization: Bearer <key>".',
      );
    }
    if (!this.valid(token)) {
      throw new HttpError(401, 'UNAUTHENTICATED', "The API key is not one of this server's keys.");
    }
  }
}

/**
 * What rate limits count by: a valid API key (by its digest: the key itself would land in logs), else the
 * client's address, so that guessing keys, each guess a new token, is limited per address.
 */
export function rateLimitKey(req: FastifyRequest, keys: ApiKeys | undefined): string {
  const token = ApiKeys.token(req);
  return keys !== undefined && token !== undefined && keys.valid(token)
    ? `key:${digest(token).toString('hex').slice(0, 16)}`
    : `ip:${req.ip}`;
}
