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

/**
 * For a command that runs until stopped (serve, worker, playground): resolves with the signal's name at the first
 * SIGINT or SIGTERM, and stops listening for both.
 */
export function untilSignal(): Promise<'SIGINT' | 'SIGTERM'> {
  return new Promise((resolve) => {
    const on = (name: 'SIGINT' | 'SIGTERM') => (): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(name);
    };
    const onInt = on('SIGINT');
    const onTerm = on('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
}
