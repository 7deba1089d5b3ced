import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { AdvkitError } from '../../errors.js';
import { isGzip } from '../bytes.js';

const gunzipAsync = promisify(gunzip);

/** The bytes of a data file, decompressed when it is gzip (told by its content, not its name). */
export async function readDataFile(file: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new AdvkitError('NOT_FOUND', `Cannot read ${file}: ${reason}`, { file });
  }
  if (!isGzip(bytes)) {
    if (file.endsWith('.gz')) {
      throw new AdvkitError('CORRUPT_DATA', `${file}: named .gz but is not gzip data (no 1f 8b header).`, {
        file,
      });
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  try {
    const raw = await gunzipAsync(bytes);
    return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new AdvkitError(
      'CORRUPT_DATA',
      `${file}: cannot decompress gzip data (${reason}); the file is corrupt or truncated.`,
      {
        file,
      },
    );
  }
}
