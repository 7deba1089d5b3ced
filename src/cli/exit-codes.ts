import { AdvkitError } from '../errors.js';

/** Exit codes: a script can tell a user mistake (2) from a failure of the program or its inputs (1). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** Interrupted by the user (Ctrl-C), as shells report SIGINT. */
export const EXIT_INTERRUPTED = 130;

export function exitCodeFor(err: unknown): number {
  if (err instanceof AdvkitError) {
    if (err.code === 'ABORTED') return EXIT_INTERRUPTED;
    return err.code === 'INVALID_ARGUMENT' || err.code === 'NOT_FOUND' ? EXIT_USAGE : EXIT_FAILURE;
  }
  return EXIT_FAILURE;
}
