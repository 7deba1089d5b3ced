import cliProgress from 'cli-progress';

export interface ProgressLine {
  start(total: number, fields: Record<string, string | number>): void;
  update(value: number, fields: Record<string, string | number>): void;
  /** A line of its own above the bar (e.g. an epoch summary). */
  log(text: string): void;
  stop(): void;
}

/** Without a terminal, a plain status line at most this often. */
const PLAIN_INTERVAL_MS = 30_000;

/**
 * A progress bar on stderr when it is a terminal; otherwise (CI, pipes, logs) a plain status line every
 * 30 s and the log lines. Progress never goes to stdout, which stays clean for --json.
 */
export function createProgressLine(format: string, stderr: (t: string) => void): ProgressLine {
  if (!process.stderr.isTTY) return plainProgress(format, stderr);
  const bar = new cliProgress.SingleBar(
    { format, hideCursor: true, clearOnComplete: false, etaBuffer: 50, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    start(total, fields) {
      bar.start(total, 0, fields);
      running = true;
    },
    update(value, fields) {
      bar.update(value, fields);
    },
    log(text) {
      if (running) {
        // Clear the bar's line, print, and let the next update redraw it.
        process.stderr.write('\r\x1b[K' + text + '\n');
      } else {
        stderr(text + '\n');
      }
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

function plainProgress(format: string, stderr: (t: string) => void): ProgressLine {
  let total = 0;
  let last = Date.now();
  return {
    start(t) {
      total = t;
      last = Date.now();
    },
    update(value, fields) {
      if (Date.now() - last < PLAIN_INTERVAL_MS) return;
      last = Date.now();
      const all: Record<string, string | number> = { ...fields, value, total, bar: '' };
      stderr(
        format.replace(/\{(\w+)\}/g, (_, key: string) => String(all[key] ?? '')).replace('[]', '') + '\n',
      );
    },
    log: (t) => stderr(t + '\n'),
    stop() {},
  };
}
