import type { Command } from 'commander';
import path from 'node:path';
import { initNodeBackend } from '../../backend/node-backend.js';
import { writeFileAtomic } from '../../data/node/atomic-write.js';
import { AdvkitError } from '../../errors.js';
import {
  nonRobustFeaturesTask,
  type NonRobustFeaturesResult,
  type NrfProgress,
} from '../../tasks/non-robust-features.js';
import { nonRobustFeaturesSchema } from '../../tasks/non-robust-features-spec.js';
import { withInterrupt } from '../interrupt.js';
import type { CliIo } from '../main.js';
import { assertWritableDir } from '../output-check.js';
import { createProgressLine, type ProgressLine } from '../progress.js';
import { addSpecOptions, specFromFlags, taskInput, withFlagNames } from '../spec-flags.js';

interface NrfCliOptions {
  out: string;
  stateDir?: string;
  restart?: boolean;
  backend?: string;
  json?: boolean;
}

/**
 * `advkit experiment <name>`: published experiments reproduced end to end, each a task. The first is
 * `non-robust-features` (Ilyas et al. 2019): flags -> the task's spec; the result JSON and the picture of training
 * pairs written to --out; the state in --state-dir, so that the same command run again continues a stopped run.
 */
export function registerExperimentCommand(program: Command, io: CliIo): void {
  const experiment = program
    .command('experiment')
    .description('Reproduce published experiments end to end (see the subcommands).');
  const cmd = experiment
    .command('non-robust-features')
    .description(
      'Ilyas et al. 2019, "Adversarial Examples Are Not Bugs, They Are Features": relabel every training image ' +
        'with the class a targeted attack on a standard model pushed it to, train a fresh model on those pairs ' +
        'only, and test it on the real test images. --variant binary (default): the linear airplane-vs-cat ' +
        'model; --variant cifar10: D_rand and D_det with the CIFAR-10 CNN. Stopped runs continue when the same ' +
        'command is run again.',
    );
  const flags = addSpecOptions(cmd, nonRobustFeaturesSchema);
  cmd
    .requiredOption('--out <dir>', 'where to write non-robust-features.json and pairs.png')
    .option('--state-dir <dir>', 'where the resumable state goes (default: <out>/state)')
    .option('--restart', 'discard the state of a run with other options found in the state directory')
    .option('--backend <name>', 'compute backend: native, wasm, cpu (default: best available)')
    .option('--json', 'print the result as JSON')
    .action(async () => {
      const opts = cmd.opts<NrfCliOptions>();
      const spec = taskInput(nonRobustFeaturesSchema, specFromFlags(flags, cmd.opts()));
      const stateDir = path.resolve(opts.stateDir ?? path.join(opts.out, 'state'));
      assertWritableDir(opts.out, '--out');
      assertWritableDir(stateDir, '--state-dir');
      await initNodeBackend({ backend: opts.backend });
      const progress = createProgressLine('{stage} [{bar}] {value}/{total} | {detail}', io.stderr);
      const onProgress = progressReporter(progress, io);
      try {
        const { result, artifacts } = await withInterrupt((signal) =>
          nonRobustFeaturesTask.run(spec, {
            stateDir,
            restart: opts.restart === true,
            command: ['advkit', ...process.argv.slice(2).filter((a) => a !== '--restart')].join(' '),
            signal,
            onNote: (note) => io.stderr(`note: ${note}\n`),
            onProgress,
          }),
        );
        progress.stop();
        const written: string[] = [];
        for (const artifact of artifacts) {
          const file = path.join(opts.out, artifact.name);
          await writeFileAtomic(file, artifact.bytes);
          written.push(file);
        }
        io.stdout(opts.json === true ? JSON.stringify(result, null, 2) + '\n' : summary(result, written));
      } catch (err) {
        progress.stop();
        if (err instanceof AdvkitError && err.code === 'ABORTED') {
          io.stderr(`stopped; the work so far is in ${stateDir}: run the same command to continue.\n`);
        }
        throw withFlagNames(err, flags, { restart: '--restart' });
      }
    });
  for (const c of [experiment, cmd]) {
    c.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
    c.showHelpAfterError('(run with --help for usage)');
  }
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

function progressReporter(progress: ProgressLine, io: CliIo): (p: NrfProgress) => void {
  let phase = '';
  return (p) => {
    if (p.stage === 'start') {
      const a = p.settings.attack;
      io.stderr(
        `non-robust features (${p.settings.variant}): source ${p.settings.model}, ${p.trainImages} training and ` +
          `${p.testImages} test images, ${a.norm} PGD eps ${a.eps}, ${a.steps} steps of ${a.stepSize}` +
          `${a.earlyStop ? ', early stop' : ''}, backend ${p.backend}\n`,
      );
      return;
    }
    if (p.stage === 'generate') {
      if (phase !== `generate-${p.rule}`) {
        progress.stop();
        phase = `generate-${p.rule}`;
        progress.start(p.total, { stage: `relabel ${p.rule}`, detail: '' });
      }
      progress.update(p.done, {
        stage: `relabel ${p.rule}`,
        detail: `reached target ${p.checked === 0 ? '-' : pct(p.successes / p.checked)}`,
      });
      return;
    }
    if (p.stage === 'train') {
      const t = p.progress;
      const stage = `train ${p.rule} epoch ${t.epoch + 1}/${t.epochs}`;
      if (t.phase === 'epoch') {
        progress.stop();
        phase = '';
        progress.log(
          `${stage}: loss ${t.loss.toFixed(4)}, train acc ${pct(t.accuracy)}, ${t.imagesPerSecond.toFixed(0)} img/s`,
        );
        return;
      }
      if (phase !== `train-${p.rule}-${t.epoch}`) {
        progress.stop();
        phase = `train-${p.rule}-${t.epoch}`;
        progress.start(t.batchesPerEpoch, { stage, detail: '' });
      }
      progress.update(t.batch, { stage, detail: `loss ${t.loss.toFixed(4)} | acc ${pct(t.accuracy)}` });
      return;
    }
    progress.stop();
    phase = '';
    progress.log(`${p.rule}: test accuracy ${pct(p.testAccuracy)}`);
  };
}

function summary(r: NonRobustFeaturesResult, written: readonly string[]): string {
  const a = r.settings.attack;
  const lines = [
    `non-robust features (${r.settings.variant}): source ${r.source.name} (test ${pct(r.source.testAccuracy)}), ` +
      `${r.data.trainImages} training images, ${r.data.testImages} test images, ${a.norm} PGD eps ${a.eps}, ` +
      `${a.steps} x ${a.stepSize}${a.earlyStop ? ', early stop' : ''}`,
  ];
  for (const d of r.datasets) {
    const g = d.generation;
    const paper = r.paper[d.rule];
    lines.push(
      `${d.description}: ${pct(g.successRate)} reached their target, ${g.kept} kept (mean L2 ${g.meanL2.toFixed(2)}); ` +
        `fresh ${r.source.architecture}: test accuracy ${pct(d.testAccuracy)} (chance ${pct(r.chance)}` +
        `${paper !== undefined ? `, paper ${pct(paper)}` : ''}); ${g.seconds.toFixed(0)} s relabelling, ` +
        `${d.trainSeconds.toFixed(0)} s training`,
    );
  }
  lines.push(
    `${r.workSeconds.toFixed(0)} s of work in all, ${r.seconds.toFixed(0)} s in this run; wrote ${written.join(', ')}`,
  );
  return lines.join('\n') + '\n';
}
