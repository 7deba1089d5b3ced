import path from 'node:path';
import { initNodeBackend } from '../backend/node-backend.js';
import { writeFileAtomic } from '../data/node/atomic-write.js';
import type { TaskOutput, TaskResult } from '../tasks/task.js';
import { withInterrupt } from './interrupt.js';
import type { CliIo } from './main.js';
import { assertWritableDir } from './output-check.js';
import { createProgressLine, type ProgressLine } from './progress.js';

export interface TaskToDirOptions {
  out: string;
  stateDir?: string;
  backend?: string;
  json?: boolean;
  /** The progress line's format (cli-progress tokens); default '{stage} [{bar}] {value}/{total} | {detail}'. */
  progressFormat?: string;
}

/**
 * What a command whose task writes a folder of results does around the task: checks --out (and --state-dir)
 * before any work, sets up the backend, maps Ctrl-C to the task's signal, shows a progress line, writes the
 * artifacts to --out atomically and prints the result (JSON or the summary).
 */
export async function runTaskToDir<R extends TaskResult>(
  io: CliIo,
  opts: TaskToDirOptions,
  run: (signal: AbortSignal, progress: ProgressLine) => Promise<TaskOutput<R>>,
  summarize: (result: R, written: string[]) => string,
): Promise<void> {
  assertWritableDir(opts.out, '--out');
  if (opts.stateDir !== undefined) assertWritableDir(opts.stateDir, '--state-dir');
  await initNodeBackend({ backend: opts.backend });
  const format = opts.progressFormat ?? '{stage} [{bar}] {value}/{total} | {detail}';
  const progress = createProgressLine(format, io.stderr);
  try {
    const { result, artifacts } = await withInterrupt((signal) => run(signal, progress));
    progress.stop();
    const written: string[] = [];
    for (const artifact of artifacts) {
      const file = path.join(opts.out, artifact.name);
      await writeFileAtomic(file, artifact.bytes);
      written.push(file);
    }
    io.stdout(opts.json === true ? JSON.stringify(result, null, 2) + '\n' : summarize(result, written));
  } finally {
    progress.stop();
  }
}
