import cliProgress from 'cli-progress';

export interface ProgressLine {
  start(total: number, fields: Record<string, string | number>): void;
  update(value: number, fields: Record<string, string | number>): void;
  /** A line of its own above the bar (e.g. an epoch summary). */
  log(text: string): void;
  stop(): void;
}

/**
 * A progress bar on stderr when it is a terminal; otherwise (CI, pipes, --json) only the log lines, so that
 * machine-readable stdout stays clean.
 */
export function createProgressLine(format: string, stderr: (t: string) => void): ProgressLine {
  if (!process.stderr.isTTY) {
    return { start() {}, update() {}, log: (t) => stderr(t + '\n'), stop() {} };
  }
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
