import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { invalidArgument } from '../errors.js';

/**
 * Output locations are checked before any work starts, so that a long run never ends in a write error.
 * A directory output must be a directory (or not exist yet, under a writable existing ancestor).
 */
export function assertWritableDir(dir: string, flag: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) {
      throw invalidArgument(
        `${flag} '${dir}' is a file; expected a directory (or a path that does not exist yet).`,
      );
    }
    assertWritable(dir, flag, dir);
    return;
  }
  assertWritable(existingAncestor(dir), flag, dir);
}

/** A file output must not be a directory, and its folder must be writable (or creatable). */
export function assertWritableFile(file: string, flag: string): void {
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw invalidArgument(`${flag} '${file}' is a directory; expected a file path.`);
  }
  assertWritableDir(path.dirname(path.resolve(file)), flag);
}

function existingAncestor(p: string): string {
  let dir = path.resolve(p);
  while (!existsSync(dir)) {
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  if (!statSync(dir).isDirectory()) {
    throw invalidArgument(`cannot create '${p}': '${dir}' is a file, not a directory.`);
  }
  return dir;
}

function assertWritable(dir: string, flag: string, asked: string): void {
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw invalidArgument(`${flag} '${asked}' cannot be written: '${dir}' is not writable.`);
  }
}
