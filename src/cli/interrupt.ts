/**
 * Runs `work` with an AbortSignal that Ctrl-C (SIGINT) aborts: the task stops at its next step and throws
 * ABORTED, which main() turns into exit code 130. The listener is removed however the work ends.
 */
export async function withInterrupt<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    return await work(abort.signal);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
