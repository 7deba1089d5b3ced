import { AdvkitError } from '../errors.js';

/** gzip streams start with 1f 8b (RFC 1952). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Parsers take decompressed bytes; a gzip stream here means the caller forgot to decompress. */
export function rejectGzip(bytes: Uint8Array, file: string, what: string): void {
  if (isGzip(bytes)) {
    throw new AdvkitError(
      'CORRUPT_DATA',
      `${file}: is gzip-compressed; expected decompressed ${what} bytes.`,
      { file },
    );
  }
}
