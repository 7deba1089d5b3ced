import { createHash } from 'node:crypto';
import path from 'node:path';
import { AdvkitError } from '../../errors.js';
import { readTar } from '../tar.js';
import { writeFileAtomic } from './atomic-write.js';
import { readDataFile } from './read-data-file.js';

/**
 * Writes the named members of a (gzipped) tar archive into destDir, flattening their folders. `members` maps a
 * member's base name to its expected sha256, or undefined when there is none to check. Every member must be there.
 */
export async function unpackTarMembers(
  archive: string,
  destDir: string,
  members: Record<string, string | undefined>,
): Promise<void> {
  const bytes = await readDataFile(archive);
  const wanted = new Set(Object.keys(members));
  for (const entry of readTar(bytes, archive)) {
    const base = path.posix.basename(entry.name);
    if (!wanted.has(base)) continue;
    const expected = members[base];
    if (expected !== undefined && createHash('sha256').update(entry.data).digest('hex') !== expected) {
      throw new AdvkitError(
        'CORRUPT_DATA',
        `${archive}: member ${entry.name} does not match its published sha256 ${expected}.`,
        {
          file: archive,
        },
      );
    }
    await writeFileAtomic(path.join(destDir, base), entry.data);
    wanted.delete(base);
  }
  if (wanted.size > 0) {
    throw new AdvkitError('CORRUPT_DATA', `${archive}: the archive lacks ${[...wanted].join(', ')}.`, {
      file: archive,
    });
  }
}
