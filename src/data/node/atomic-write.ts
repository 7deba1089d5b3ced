import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A unique temporary name beside the destination, so the final rename is atomic on the same file system. */
export function tempPathFor(dest: string): string {
  return path.join(
    path.dirname(dest),
    `.${path.basename(dest)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
}

/** Runs `write(tmp)` then renames tmp to dest; on failure removes tmp, so dest is never half-written. */
export async function writeAtomically(dest: string, write: (tmp: string) => Promise<void>): Promise<void> {
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = tempPathFor(dest);
  try {
    await write(tmp);
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function writeFileAtomic(dest: string, bytes: Uint8Array): Promise<void> {
  await writeAtomically(dest, (tmp) => writeFile(tmp, bytes));
}
