import type { Command } from 'commander';
import path from 'node:path';
import { initNodeBackend } from '../../backend/node-backend.js';
import { AdvkitError } from '../../errors.js';
import { trainTask, type TrainStart, type TrainTaskResult } from '../../tasks/train.js';
import { trainSchema } from '../../tasks/train-spec.js';
import type { TrainProgress } from '../../train/train.js';
import { withInterrupt } from '../interrupt.js';
import type { CliIo } from '../main.js';
import { assertWritableDir } from '../output-check.js';
import { createProgressLine, type ProgressLine } from '../progress.js';
import { addSpecOptions, specFromFlags, taskInput, withFlagNames } from '../spec-flags.js';

/** The flags that are the command line's own (the rest come from the task's schema). */
interface TrainCliOptions {
  out: string;
  checkpointDir?: string;
  resume?: boolean;
  restart?: boolean;
  backend?: string;
  json?: boolean;
}

/** Run options the command exposes as flags, for messages that name them. */
const RUN_FLAGS = { resume: '--resume', restart: '--restart' };

export function registerTrainCommand(program: Command, io: CliIo): void {
  const cmd = program
    .command('train')
    .description(
      'Train a classifier from a built-in architecture on a dataset and save it with its metadata. ' +
        'Checkpoints are written atomically; after a kill, the same command with --resume continues to the ' +
        'same weights as an uninterrupted run.',
    )
    .requiredOption('--out <dir>', 'where to write the trained model');
  const flags = addSpecOptions(cmd, trainSchema, {
    describe: { guard: 'fgsm-rs: turn off the catastrophic-overfitting guard (PGD check each epoch)' },
  });
  for (const option of cmd.options) {
    if (option.long === '--data' || option.long === '--arch') option.makeOptionMandatory();
  }
  cmd
    .option('--checkpoint-dir <dir>', 'checkpoint directory (default: <out>.checkpoint)')
    .option('--resume', 'continue from the checkpoint of an interrupted run with the same options')
    .option('--restart', 'discard the checkpoint of an interrupted run and start afresh')
    .option('--backend <name>', 'compute backend: wasm, cpu, tensorflow (default: best available)')
    .option('--json', 'print the result as JSON')
    .action(async () => {
      const opts = cmd.opts<TrainCliOptions>();
      const spec = taskInput(trainSchema, specFromFlags(flags, cmd.opts()));
      const checkpointDir = path.resolve(opts.checkpointDir ?? `${opts.out}.checkpoint`);
      assertWritableDir(opts.out, '--out');
      assertWritableDir(checkpointDir, '--checkpoint-dir');
      await initNodeBackend({ backend: opts.backend });
      const progress = createProgressLine(
        spec.adversarial === undefined
          ? 'epoch {epoch} [{bar}] {value}/{total} | loss {loss} | acc {acc} | {ips} img/s | lr {lr}'
          : 'epoch {epoch} [{bar}] {value}/{total} | loss {loss} | clean {clean} | adv {adv} | eps {eps} | {ips} img/s | lr {lr}',
        io.stderr,
      );
      try {
        const { result } = await withInterrupt((signal) =>
          trainTask.run(spec, {
            out: opts.out,
            stateDir: checkpointDir,
            resume: opts.resume === true,
            restart: opts.restart === true,
            command: reproduceCommand(),
            signal,
            onNote: (note) => io.stderr(`note: ${note}\n`),
            onProgress: (p) => (p.phase === 'start' ? io.stderr(startLine(p)) : reportProgress(progress, p)),
          }),
        );
        progress.stop();
        printResult(io, result, opts.json === true);
      } catch (err) {
        progress.stop();
        if (err instanceof AdvkitError && err.code === 'ABORTED' && typeof err.details?.step === 'number') {
          io.stderr(`stopped at step ${err.details.step}; run the same command with --resume to continue.\n`);
        }
        throw withFlagNames(err, flags, RUN_FLAGS);
      }
    });
}

function printResult(io: CliIo, r: TrainTaskResult, json: boolean): void {
  if (r.guard?.restored === true) {
    io.stderr(
      `restored the weights of epoch ${r.guard.bestEpoch + 1} (best PGD accuracy on the guard batch, ${pct(r.guard.bestRobustAccuracy)})\n`,
    );
  }
  if (json) {
    const summary = {
      out: r.out,
      backend: r.backend,
      steps: r.steps,
      seconds: r.seconds,
      metrics: r.metrics,
      ...(r.adversarial !== undefined ? { adversarial: r.adversarial } : {}),
      ...(r.guard !== undefined ? { guard: r.guard } : {}),
    };
    io.stdout(JSON.stringify(summary, null, 2) + '\n');
    return;
  }
  io.stdout(
    `saved ${r.out}: train ${r.adversarial ? 'adversarial ' : ''}accuracy ${(100 * r.accuracy).toFixed(2)}%` +
      (r.testAccuracy !== undefined
        ? `, test accuracy ${(100 * r.testAccuracy).toFixed(2)}% (${r.eval?.count} images)`
        : '') +
      ` in ${r.seconds.toFixed(0)} s\n`,
  );
}

function pct(value: number | undefined): string {
  return value === undefined || Number.isNaN(value) ? '-' : `${(100 * value).toFixed(1)}%`;
}

function startLine(s: TrainStart): string {
  const adv = s.adversarial;
  const advText =
    adv === undefined ? '' : `, adversarial ${adv.method} ${adv.norm} eps ${Number(adv.eps.toPrecision(4))}`;
  return (
    `training ${s.arch} on ${s.data} (${s.images} images, backend ${s.backend})${advText}; ` +
    `checkpoints in ${s.checkpointDir}\n`
  );
}

function reportProgress(progress: ProgressLine, p: TrainProgress): void {
  const a = p.adversarial;
  const fields = {
    epoch: `${p.epoch + 1}/${p.epochs}`,
    loss: p.loss.toFixed(4),
    acc: pct(p.accuracy),
    ips: p.imagesPerSecond.toFixed(0),
    lr: p.lr.toPrecision(3),
    clean: a ? `${a.cleanLoss.toFixed(3)}/${pct(a.cleanAccuracy)}` : '',
    adv: a ? `${a.adversarialLoss.toFixed(3)}/${pct(a.adversarialAccuracy)}` : '',
    eps: a ? Number(a.eps.toPrecision(3)).toString() : '',
  };
  if (p.phase === 'epoch') {
    progress.stop();
    const evalText = p.evalAccuracy !== undefined ? `, test acc ${(100 * p.evalAccuracy).toFixed(2)}%` : '';
    const advText = a
      ? `, clean acc ${pct(a.cleanAccuracy)}, adversarial acc ${pct(a.adversarialAccuracy)} (eps ${fields.eps})`
      : `, train acc ${fields.acc}`;
    const guardText = p.robustAccuracy !== undefined ? `, guard PGD acc ${pct(p.robustAccuracy)}` : '';
    progress.log(
      `epoch ${fields.epoch}: loss ${fields.loss}${advText}${evalText}${guardText}, ${fields.ips} img/s`,
    );
    if (p.collapsed === true) {
      progress.log(
        `warning: robustness collapsed (catastrophic overfitting): PGD accuracy ${pct(p.robustAccuracy)} is below half of the best epoch's; the best weights will be restored at the end`,
      );
    }
    return;
  }
  if (p.batch === 1 || p.batch === 0) progress.start(p.batchesPerEpoch, fields);
  progress.update(p.batch, fields);
}

/** The command line that reproduces this model (recorded in its metadata). */
function reproduceCommand(): string {
  return ['advkit', ...process.argv.slice(2).filter((a) => a !== '--resume' && a !== '--restart')].join(' ');
}
