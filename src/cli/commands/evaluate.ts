import type { Command } from 'commander';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { initNodeBackend } from '../../backend/node-backend.js';
import { writeFileAtomic } from '../../data/node/atomic-write.js';
import { evaluateTask, evaluationStatePath, type EvaluateProgress } from '../../tasks/evaluate.js';
import { EVALUATE_DEFAULT_MODEL, evaluateSchema } from '../../tasks/evaluate-spec.js';
import { withInterrupt } from '../interrupt.js';
import type { CliIo } from '../main.js';
import { assertWritableDir } from '../output-check.js';
import { createProgressLine, type ProgressLine } from '../progress.js';
import { addSpecOptions, specFromFlags, taskInput } from '../spec-flags.js';
import { evaluationTable } from './evaluate-table.js';

const DEFAULT_OUT = 'advkit-evaluation';

interface EvaluateCliOnly {
  out: string;
  backend?: string;
  json?: boolean;
  resume: boolean;
}

/** `advkit evaluate`: flags -> the evaluate task's spec; the table or JSON; evaluation.json and report.html in --out. */
export function registerEvaluateCommand(program: Command, io: CliIo): void {
  const cmd = program
    .command('evaluate')
    .description(
      'How robust is a model, really? Runs the AutoAttack protocol (each attack on the points still robust, ' +
        'robust accuracy as the per-example worst case) at each eps, checks the evaluation for signs of ' +
        'gradient masking, and writes evaluation.json and a self-contained report.html. With no options it ' +
        `evaluates the bundled adversarially trained MNIST model (${EVALUATE_DEFAULT_MODEL}) on 100 test images ` +
        'at Linf 0.1, 0.2, 0.3. A killed or interrupted run resumes from its state file when run again with the ' +
        'same options.',
    );
  const flags = addSpecOptions(cmd, evaluateSchema);
  cmd
    .option('--out <dir>', 'directory for evaluation.json, report.html and the resume state', DEFAULT_OUT)
    .option('--backend <name>', 'compute backend: wasm, cpu, tensorflow (default: best available)')
    .option('--no-resume', 'ignore and replace a saved state in --out instead of resuming from it')
    .option('--json', 'print the JSON report instead of the table')
    .action(async (opts: EvaluateCliOnly) => {
      const spec = taskInput(evaluateSchema, specFromFlags(flags, cmd.opts()));
      assertWritableDir(opts.out, '--out');
      await initNodeBackend({ backend: opts.backend });
      if (!opts.resume) {
        rmSync(evaluationStatePath(opts.out), { force: true });
        rmSync(evaluationStatePath(opts.out, 'naive'), { force: true });
      }
      const bars = new StepProgress(io);
      const { result, artifacts } = await withInterrupt((signal) =>
        evaluateTask
          .run(spec, {
            signal,
            stateDir: opts.out,
            onProgress: (p) => bars.update(p),
            onNote: (note) => {
              bars.stop();
              io.stderr(
                note.startsWith('resumed:') ? `${note} (--no-resume starts afresh)\n` : `note: ${note}\n`,
              );
            },
          })
          .finally(() => bars.stop()),
      );
      for (const a of artifacts) await writeFileAtomic(path.join(opts.out, a.name), a.bytes);
      if (opts.json) {
        io.stdout(JSON.stringify(result.report, null, 2) + '\n');
        return;
      }
      io.stdout(evaluationTable(result.report, result.epsText));
      io.stdout(
        `wrote ${path.join(opts.out, 'evaluation.json')} and ${path.join(opts.out, 'report.html')}\n`,
      );
    });
}

/** One progress bar per (eps, attack) step with the running robust accuracy, then one for the sanity checks. */
class StepProgress {
  private line: ProgressLine | null = null;
  private step = '';

  constructor(private readonly io: CliIo) {}

  update(p: EvaluateProgress): void {
    if (p.stage === 'sanity') {
      if (this.step !== 'sanity') {
        this.stop();
        this.step = 'sanity';
        this.line = createProgressLine('sanity checks [{bar}] {value}% | {check}', this.io.stderr);
        this.line.start(100, { check: '' });
      }
      this.line?.update(Math.round(100 * p.fraction), { check: p.check });
      return;
    }
    const step = `${p.run ?? ''}/${p.epsIndex}/${p.attackIndex}`;
    const fields = { robust: (100 * p.robustAccuracy).toFixed(1), note: p.resumed ? ' (resumed)' : '' };
    if (step !== this.step) {
      this.stop();
      this.step = step;
      this.line = createProgressLine(
        `${p.run === undefined ? '' : `${p.run} `}eps ${p.epsText} ${p.attack.padEnd(8)} [{bar}] {value}/{total} points | robust {robust}%{note}`,
        this.io.stderr,
      );
      this.line.start(Math.max(1, p.total), fields);
    }
    this.line?.update(p.done, fields);
  }

  stop(): void {
    this.line?.stop();
    this.line = null;
  }
}
