import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AdvkitError } from '../../errors.js';
import type { CheckpointStore } from '../checkpoint.js';
import { writeFileSynced } from '../../util/node/write-file-synced.js';

/** Name of the checkpoint file inside a checkpoint directory. */
export const CHECKPOINT_FILE = 'checkpoint.advkit';
const TEMP_PREFIX = `${CHECKPOINT_FILE}.tmp-`;

/**
 * Checkpoints in one file of a directory, replaced atomically: the new bytes go to a temporary file in the
 * same directory, are fsynced, then renamed over the old file (rename within a directory is atomic on POSIX
 * and on NTFS), and the directory is fsynced so the rename itself survives a power cut. A process killed at
 * any point leaves either the previous checkpoint or the new one, plus at worst a stray temporary file that
 * the next write removes.
 */
export class FileCheckpointStore implements CheckpointStore {
  readonly location: string;

  constructor(readonly dir: string) {
    this.location = path.join(dir, CHECKPOINT_FILE);
  }

  async write(bytes: Uint8Array): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    await this.removeStaleTemps();
    const temp = path.join(this.dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await writeFileSynced(temp, bytes);
      await fs.rename(temp, this.location);
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw err;
    }
    await syncDir(this.dir);
  }

  async read(): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await fs.readFile(this.location));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new AdvkitError(
        'NOT_FOUND',
        `Could not read checkpoint ${this.location}: ${(err as Error).message}`,
        {
          file: this.location,
        },
      );
    }
  }

  private async removeStaleTemps(): Promise<void> {
    for (const name of await fs.readdir(this.dir)) {
      if (name.startsWith(TEMP_PREFIX)) await fs.rm(path.join(this.dir, name), { force: true });
    }
  }
}

/** fsync a directory so that a rename in it is durable; not possible on Windows, where it is skipped. */
async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
