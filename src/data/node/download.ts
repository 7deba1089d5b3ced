import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { AdvkitError } from '../../errors.js';
import { writeAtomically } from './atomic-write.js';

/** The part of globalThis.fetch the downloader uses; tests pass a fake. */
export type FetchLike = (url: string) => Promise<Response>;

export interface DownloadProgress {
  url: string;
  receivedBytes: number;
  /** From Content-Length; undefined when the server does not say. */
  totalBytes?: number;
}

export interface DownloadOptions {
  fetch?: FetchLike;
  onProgress?: (p: DownloadProgress) => void;
}

export interface RemoteFile {
  url: string;
  /** Expected digests (hex, lower case) of the bytes as downloaded; at least one should be given. */
  md5?: string;
  sha256?: string;
}

/**
 * Downloads `remote.url` to `dest` atomically: the bytes go to a temporary file, their digests are checked, and
 * only then is the file renamed into place. On any failure nothing is left behind.
 */
export async function downloadFile(
  remote: RemoteFile,
  dest: string,
  opts: DownloadOptions = {},
): Promise<void> {
  const fetchFn: FetchLike = opts.fetch ?? ((url) => globalThis.fetch(url));
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  await writeAtomically(dest, async (tmp) => {
    let response: Response;
    try {
      response = await fetchFn(remote.url);
    } catch (err) {
      throw new AdvkitError('NETWORK', `Download of ${remote.url} failed: ${reasonOf(err)}.`, {
        url: remote.url,
      });
    }
    if (!response.ok || response.body === null) {
      throw new AdvkitError(
        'NETWORK',
        `Download of ${remote.url} failed: HTTP ${response.status} ${response.statusText}.`,
        {
          url: remote.url,
          status: response.status,
        },
      );
    }
    const length = Number(response.headers.get('content-length'));
    const totalBytes = Number.isFinite(length) && length > 0 ? length : undefined;
    let receivedBytes = 0;
    const handle = await open(tmp, 'w');
    try {
      const reader = response.body.getReader();
      for (let part = await reader.read(); !part.done; part = await reader.read()) {
        const chunk = part.value;
        md5.update(chunk);
        sha256.update(chunk);
        await handle.write(chunk);
        receivedBytes += chunk.byteLength;
        opts.onProgress?.({ url: remote.url, receivedBytes, totalBytes });
      }
    } catch (err) {
      throw new AdvkitError(
        'NETWORK',
        `Download of ${remote.url} broke off after ${receivedBytes} bytes: ${reasonOf(err)}.`,
        { url: remote.url },
      );
    } finally {
      await handle.close();
    }
    checkDigest(remote, 'md5', remote.md5, md5.digest('hex'));
    checkDigest(remote, 'sha256', remote.sha256, sha256.digest('hex'));
  });
}

/** fetch wraps socket and DNS errors in a TypeError('fetch failed') whose cause says what happened. */
function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message} (${err.cause.message})` : err.message;
}

function checkDigest(
  remote: RemoteFile,
  algorithm: string,
  expected: string | undefined,
  actual: string,
): void {
  if (expected !== undefined && expected.toLowerCase() !== actual) {
    throw new AdvkitError(
      'CORRUPT_DATA',
      `Downloaded ${remote.url} has ${algorithm} ${actual}; expected ${expected}. The file was discarded; try again later.`,
      { url: remote.url },
    );
  }
}
