import type { Command } from 'commander';
import path from 'node:path';
import { AdvkitError } from '../../errors.js';
import {
  nonRobustFeaturesTask,
  type NonRobustFeaturesResult,
  type NrfProgress,
} from '../../tasks/non-robust-features.js';
import { nonRobustFeaturesSchema } from '../../tasks/non-robust-features-spec.js';
import {
  patchGradcamTask,
  type PatchGradcamProgress,
  type PatchGradcamResult,
} from '../../tasks/patch-gradcam.js';
import { patchGradcamSchema } from '../../tasks/patch-gradcam-spec.js';
import {
  robustSaliencyTask,
  type RobustSaliencyProgress,
  type RobustSaliencyResult,
} from '../../tasks/robust-saliency.js';
import { robustSaliencySchema } from '../../tasks/robust-saliency-spec.js';
import type { CliIo } from '../main.js';
import type { ProgressLine } from '../progress.js';
import { runTaskToDir } from '../run-task-to-dir.js';
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
      try {
        await runTaskToDir(
          io,
          { ...opts, stateDir },
          (signal, progress) =>
            nonRobustFeaturesTask.run(spec, {
              stateDir,
              restart: opts.restart === true,
              command: ['advkit', ...process.argv.slice(2).filter((a) => a !== '--restart')].join(' '),
              signal,
              onNote: (note) => io.stderr(`note: ${note}\n`),
              onProgress: progressReporter(progress, io),
            }),
          summary,
        );
      } catch (err) {
        if (err instanceof AdvkitError && err.code === 'ABORTED') {
          io.stderr(`stopped; the work so far is in ${stateDir}: run the same command to continue.\n`);
        }
        throw withFlagNames(err, flags, { restart: '--restart' });
      }
    });
  const patchGradcam = registerPatchGradcam(experiment, io);
  const robustSaliency = registerRobustSaliency(experiment, io);
  for (const c of [experiment, cmd, patchGradcam, robustSaliency]) {
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

interface PatchGradcamCliOptions {
  out: string;
  stateDir?: string;
  backend?: string;
  json?: boolean;
}

/**
 * `advkit experiment patch-gradcam`: flags -> the patch-gradcam task's spec; the result JSON, the picture and
 * the patch written to --out; the trained patch kept in --state-dir, so that a rerun explains without training.
 */
function registerPatchGradcam(experiment: Command, io: CliIo): Command {
  const cmd = experiment
    .command('patch-gradcam')
    .description(
      'Where Grad-CAM looks once an adversarial patch is on the photo: train a universal patch (advkit patch) on ' +
        'the even photos of a folder, paste it at one fixed place on the odd (held-out) ones, and report the ' +
        "share of Grad-CAM's mass inside the patch before and after, against the patch's area share. Defaults: " +
        '$ADVKIT_MODELS/darknet-tiny-imagenet, $ADVKIT_DATA/imagenet-samples, a soccer_ball patch.',
    );
  const flags = addSpecOptions(cmd, patchGradcamSchema);
  cmd
    .requiredOption('--out <dir>', 'where to write patch-gradcam.json, patch-gradcam.png and patch.png')
    .option('--state-dir <dir>', 'where the trained patch is kept for reruns (default: <out>/state)')
    .option('--backend <name>', 'compute backend: native, wasm, cpu (default: best available)')
    .option('--json', 'print the result as JSON')
    .action(async () => {
      const opts = cmd.opts<PatchGradcamCliOptions>();
      const spec = taskInput(patchGradcamSchema, specFromFlags(flags, cmd.opts()));
      const stateDir = path.resolve(opts.stateDir ?? path.join(opts.out, 'state'));
      try {
        await runTaskToDir(
          io,
          { ...opts, stateDir },
          (signal, progress) =>
            patchGradcamTask.run(spec, {
              stateDir,
              command: ['advkit', ...process.argv.slice(2)].join(' '),
              signal,
              onNote: (note) => io.stderr(`note: ${note}\n`),
              onProgress: patchGradcamReporter(progress, io),
            }),
          patchGradcamSummary,
        );
      } catch (err) {
        throw withFlagNames(err, flags);
      }
    });
  return cmd;
}

function patchGradcamReporter(progress: ProgressLine, io: CliIo): (p: PatchGradcamProgress) => void {
  let stage = '';
  return (p) => {
    if (p.stage === 'patch') {
      const t = p.progress;
      if (t.stage === 'start') {
        io.stderr(
          `training a ${t.shape} patch for '${t.target.name}' on ${t.images} photos of ${t.source}, ${t.steps} steps\n`,
        );
        return;
      }
      if (stage !== 'patch') {
        progress.stop();
        stage = 'patch';
        progress.start(t.steps, { stage: 'patch', detail: '' });
      }
      progress.update(t.step, {
        stage: 'patch',
        detail: `loss ${t.loss.toFixed(3)} | success ${pct(t.successRate)}`,
      });
      return;
    }
    if (stage !== 'gradcam') {
      progress.stop();
      stage = 'gradcam';
      progress.start(p.total, { stage: 'Grad-CAM', detail: 'maps' });
    }
    progress.update(p.done, { stage: 'Grad-CAM', detail: 'maps' });
  };
}

function patchGradcamSummary(r: PatchGradcamResult, written: readonly string[]): string {
  const share = (v: number | null): string => (v === null ? '-' : pct(v)).padStart(7);
  const fit = (text: string, width: number): string =>
    text.length > width ? text.slice(0, width - 1) + '~' : text.padEnd(width);
  const t = r.patch.training;
  const trained =
    t === undefined
      ? ''
      : `: ${t.seconds.toFixed(0)} s, ${pct(t.heldOut.successRate)} held-out success at random placements`;
  const lines = [
    `Grad-CAM (${r.layer}) of ${r.model.name} on ${r.photos.length} held-out photos of ${r.images}`,
    `'${r.target.name}' ${r.patch.shape} patch, ${r.patch.pixels} px (${r.patch.source}${trained}), pasted at ` +
      `${r.placement.position} (left ${r.placement.left}, top ${r.placement.top}): ${pct(r.areaShare)} of the area`,
    '',
    `${fit('photo', 28)} ${fit('prediction: clean -> patched', 46)} Grad-CAM mass on the patch:`,
    `${' '.repeat(76)} before   after  (clean class)  (noise patch)`,
  ];
  for (const p of r.photos) {
    const change =
      `${p.clean.name} ${p.clean.probability.toFixed(2)} -> ` +
      `${p.patched.name} ${p.patched.probability.toFixed(2)}`;
    lines.push(
      `${fit(p.file, 28)} ${fit(change, 46)} ${share(p.before.share)} ${share(p.after.share)} ` +
        `${share(p.afterCleanClass.share)}        ${share(p.noisePatch.share)}`,
    );
  }
  const s = r.summary;
  lines.push(
    `${fit('mean', 28)} ${fit('', 46)} ${share(s.before.meanShare)} ${share(s.after.meanShare)} ` +
      `${share(s.afterCleanClass.meanShare)}        ${share(s.noisePatch.meanShare)}`,
    '',
    `chance (the patch's area) ${pct(r.areaShare)}; a map that is the patch at ${r.layer}'s resolution ` +
      `${pct(r.ceiling)}; Grad-CAM's peak on the patch: ${pct(s.before.peaksInPatch)} before, ` +
      `${pct(s.after.peaksInPatch)} after`,
    `the patch turns ${r.success.hits} of ${r.success.photos} photos into '${r.target.name}' at this placement`,
    `${r.seconds.total.toFixed(0)} s (patch ${r.seconds.patch.toFixed(0)} s, Grad-CAM ${r.seconds.gradcam.toFixed(0)} s); ` +
      `wrote ${written.join(', ')}`,
  );
  return lines.join('\n') + '\n';
}

interface RobustSaliencyCliOptions {
  out: string;
  backend?: string;
  json?: boolean;
}

/** `advkit experiment robust-saliency`: flags -> the robust-saliency task's spec; the result JSON and picture to --out. */
function registerRobustSaliency(experiment: Command, io: CliIo): Command {
  const cmd = experiment
    .command('robust-saliency')
    .description(
      "Noisy gradients vs SmoothGrad vs a robust model's plain gradient: on the first CIFAR-10 test images, the " +
        "standard CNN's saliency and SmoothGrad next to the robust CNN's saliency (and SmoothGrad), each scored by " +
        'deletion and insertion (against a random pixel order on its own model) and by its Spearman correlation ' +
        "with the image's Sobel edges.",
    );
  const flags = addSpecOptions(cmd, robustSaliencySchema);
  cmd
    .requiredOption('--out <dir>', 'where to write robust-saliency.json and robust-saliency.png')
    .option('--backend <name>', 'compute backend: native, wasm, cpu (default: best available)')
    .option('--json', 'print the result as JSON')
    .action(async () => {
      const opts = cmd.opts<RobustSaliencyCliOptions>();
      const spec = taskInput(robustSaliencySchema, specFromFlags(flags, cmd.opts()));
      try {
        await runTaskToDir(
          io,
          opts,
          (signal, progress) =>
            robustSaliencyTask.run(spec, {
              signal,
              onNote: (note) => io.stderr(`note: ${note}\n`),
              onProgress: robustSaliencyReporter(progress),
            }),
          robustSaliencySummary,
        );
      } catch (err) {
        throw withFlagNames(err, flags);
      }
    });
  return cmd;
}

function robustSaliencyReporter(progress: ProgressLine): (p: RobustSaliencyProgress) => void {
  let index = -1;
  return (p) => {
    if (p.stage === 'map') {
      if (index < 0) progress.start(p.total * 100, { stage: 'maps', detail: p.id });
      index = p.index;
      progress.update(index * 100, { stage: 'maps', detail: p.id });
      return;
    }
    progress.update(Math.round(100 * (Math.max(0, index) + p.fraction)), { stage: 'maps', detail: p.id });
  };
}

function robustSaliencySummary(r: RobustSaliencyResult, written: readonly string[]): string {
  const num = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : '-');
  const { standard, robust } = r.models;
  const f = r.faithfulness;
  const lines = [
    `${r.data.n} ${r.data.name} ${r.data.split} images, maps of the true class's logit; ${standard.name} ` +
      `(${pct(standard.accuracy)} right on them) and ${robust.name} (${pct(robust.accuracy)})`,
    `deletion (pixels to ${f.deletionBaseline}) and insertion (into a blur of sigma ${f.blurSigma}) in ${f.steps} ` +
      "steps: the logit's area normalized over the images (random pixel order on the same model in brackets), " +
      'the share of images where the map beats the random order, and gain: (insertion - deletion) above the ' +
      "random order's",
    '',
    `${'map'.padEnd(20)} ${'deletion (lower)'.padEnd(17)} ${'beats random'.padEnd(13)} ` +
      `${'insertion'.padEnd(17)} ${'beats random'.padEnd(13)} ${'gain'.padEnd(6)} ${'edge Spearman'.padEnd(16)} seconds`,
  ];
  for (const m of r.maps) {
    const curve = (c: { auc: number; random: number }): string =>
      `${num(c.auc)} (${num(c.random)})`.padEnd(17);
    lines.push(
      `${m.id.padEnd(20)} ${curve(m.deletion)} ${pct(m.deletion.beatsRandom).padEnd(13)} ${curve(m.insertion)} ` +
        `${pct(m.insertion.beatsRandom).padEnd(13)} ${num(m.gainOverRandom).padEnd(6)} ` +
        `${`${num(m.edgeAlignment.mean)} +- ${num(m.edgeAlignment.se)}`.padEnd(16)} ${m.seconds.toFixed(0)}`,
    );
  }
  lines.push('', `${r.seconds.toFixed(0)} s; wrote ${written.join(', ')}`);
  return lines.join('\n') + '\n';
}
