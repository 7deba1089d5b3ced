import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomically } from '../../data/node/atomic-write.js';
import { AdvkitError, invalidArgument } from '../../errors.js';
import { writeFileSynced } from '../../util/node/write-file-synced.js';
import type { ChunkStore } from '../chunk-store.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Chunks as files of one directory, each written to a synced temporary file beside it and renamed over it, so a
 * kill at any moment leaves the previous file or the new one, never half of one.
 */
export class FileChunkStore implements ChunkStore {
  constructor(readonly location: string) {}

  private file(name: string): string {
    if (!NAME.test(name)) throw invalidArgument(`A chunk name must be a plain file name, got '${name}'.`);
    return path.join(this.location, name);
  }

  async read(name: string): Promise<Uint8Array | null> {
    const file = this.file(name);
    try {
      return new Uint8Array(await readFile(file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new AdvkitError('NOT_FOUND', `Could not read ${file}: ${(err as Error).message}`, { file });
    }
  }

  async write(name: string, bytes: Uint8Array): Promise<void> {
    await writeAtomically(this.file(name), (tmp) => writeFileSynced(tmp, bytes));
  }
}
