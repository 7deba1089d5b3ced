import { expect, onTestFinished } from 'vitest';
import { AdvkitError } from '../../errors.js';
import { tempDir } from './real-data.js';

/** A fresh temporary directory, removed when the current test finishes. */
export function scratchDir(): string {
  const t = tempDir();
  onTestFinished(t.remove);
  return t.dir;
}

/** The AdvkitError a promise rejects with (fails the test if it resolves or rejects with something else). */
export async function caughtAdvkitError(p: Promise<unknown>): Promise<AdvkitError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AdvkitError);
    return err as AdvkitError;
  }
  throw new Error('expected an AdvkitError');
}
