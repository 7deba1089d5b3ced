/**
 * A small reader for tar archives (POSIX ustar and the GNU long-name extension), enough to unpack the
 * CIFAR-10 download. Yields regular files only.
 */
import { AdvkitError } from '../errors.js';

const BLOCK = 512;

export interface TarEntry {
  name: string;
  data: Uint8Array;
}

function corrupt(file: string, message: string): AdvkitError {
  return new AdvkitError('CORRUPT_DATA', `${file}: ${message}`, { file });
}

function text(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

function octal(bytes: Uint8Array, file: string, field: string): number {
  const s = text(bytes).trim();
  if (!/^[0-7]*$/.test(s)) throw corrupt(file, `tar header field ${field} '${s}' is not an octal number.`);
  return s === '' ? 0 : parseInt(s, 8);
}

/** The header checksum: the byte sum of the header with the checksum field counted as spaces. */
function headerChecksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
  return sum;
}

export function* readTar(bytes: Uint8Array, file: string): Generator<TarEntry> {
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= bytes.length) {
    const header = bytes.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) return;
    if (octal(header.subarray(148, 156), file, 'checksum') !== headerChecksum(header)) {
      throw corrupt(file, `tar header at byte ${offset} has a bad checksum; the archive is corrupt.`);
    }
    const size = octal(header.subarray(124, 136), file, 'size');
    const type = String.fromCharCode(header[156] || 0x30);
    const start = offset + BLOCK;
    if (start + size > bytes.length) {
      throw corrupt(
        file,
        `tar entry at byte ${offset} needs ${size} bytes but the archive ends first; it is truncated.`,
      );
    }
    const data = bytes.subarray(start, start + size);
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = text(data);
      continue;
    }
    const isUstar = text(header.subarray(257, 263)).startsWith('ustar');
    const prefix = isUstar ? text(header.subarray(345, 500)) : '';
    const name = longName ?? (prefix ? `${prefix}/` : '') + text(header.subarray(0, 100));
    longName = undefined;
    if (type === '0' || type === '7') yield { name, data };
  }
  throw corrupt(file, 'the tar archive ends without its end-of-archive blocks; it is truncated.');
}
