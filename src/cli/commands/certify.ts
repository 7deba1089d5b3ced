import type { Command } from 'commander';
import path from 'node:path';
import { AdvkitError } from '../../errors.js';
import { certifyTask, type CertifyProgress, type CertifyResult } from '../../tasks/certify.js';
import { certifyTaskSchema } from '../../tasks/certify-spec.js';
import type { CliIo } from '../main.js';
import type { ProgressLine } from '../progress.js';
import { runTaskToDir } from '../run-task-to-dir.js';
import { addSpecOptions, specFromFlags, taskInput, withFlagNames } from '../spec-flags.js';

const DEFAULT_OUT = 'advkit-certify';

interface CertifyCliOptions {
  out: string;
  stateDir?: string;
  restart?: boolean;
  backend?: string;
  json?: boolean;
}

/**
 * `advkit certify`: flags -> the certify task's spec; certify.json and certify.svg written to --out; the
 * certificates so far kept in --state-dir after each image, so that the same command run again continues.
 */
export function registerCertifyCommand(program: Command, io: CliIo): void {
  const cmd = program
    .command('certify')
    .description(
      'Certified L2 robustness by randomized smoothing (Cohen et al. 2019): for each of the first --n images, the ' +
        'class the model gives most often under Gaussian noise of std --sigma (or an abstention) and the L2 radius ' +
        'within which that is certified with probability 1 - --alpha; then the certified accuracy at each of ' +
        '--radii. Writes certify.json (per image and per radius), certify.svg (the curve) and report.html. Slow: --n0 + ' +
        '--samples forward passes per image; a stopped run continues when the same command is run again.',
    );
  const flags = addSpecOptions(cmd, certifyTaskSchema);
  cmd
    .option('--out <dir>', 'where to write certify.json, certify.svg and report.html', DEFAULT_OUT)
    .option('--state-dir <dir>', 'where the certificates so far are kept (default: <out>/state)')
    .option('--restart', 'discard the state of a run with other settings found in the state directory')
    .option('--backend <name>', 'compute backend: native, wasm, cpu (default: best available)')
    .option('--json', 'print the result as JSON')
    .action(async () => {
      const opts = cmd.opts<CertifyCliOptions>();
      const spec = taskInput(certifyTaskSchema, specFromFlags(flags, cmd.opts()));
      const stateDir = path.resolve(opts.stateDir ?? path.join(opts.out, 'state'));
      try {
        await runTaskToDir(
          io,
          { ...opts, stateDir, progressFormat: '{stage} [{bar}] {value}/{total} copies | {detail}' },
          (signal, progress) =>
            certifyTask.run(spec, {
              stateDir,
              restart: opts.restart === true,
              command: ['advkit', ...process.argv.slice(2).filter((a) => a !== '--restart')].join(' '),
              signal,
              onNote: (note) => io.stderr(`note: ${note}\n`),
              onProgress: reporter(progress, io),
            }),
          summary,
        );
      } catch (err) {
        if (err instanceof AdvkitError && err.code === 'ABORTED') {
          io.stderr(
            `stopped; the images certified so far are in ${stateDir}: run the same command to continue.\n`,
          );
        }
        throw withFlagNames(err, flags, { restart: '--restart' });
      }
    });
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

/** A bar over the noisy copies still to classify, and the running count of images certified right. */
function reporter(progress: ProgressLine, io: CliIo): (p: CertifyProgress) => void {
  let perImage = 0;
  let first = 0;
  let correct = 0;
  let done = 0;
  return (p) => {
    if (p.stage === 'start') {
      perImage = p.copiesPerImage;
      first = p.resumed;
      io.stderr(
        `certifying ${p.points - p.resumed} of ${p.points} images of ${p.model} (${p.resumed} done before), ` +
          `${p.copiesPerImage} noisy copies each, backend ${p.backend}\n`,
      );
      if (p.points > p.resumed) {
        progress.start((p.points - p.resumed) * perImage, {
          stage: `image ${first + 1}/${p.points}`,
          detail: '-',
        });
      }
      return;
    }
    const detail = done === 0 ? '-' : `${correct}/${done} certified right`;
    if (p.stage === 'sampling') {
      progress.update((p.point - first) * perImage + p.done, {
        stage: `image ${p.point + 1}/${p.points}`,
        detail,
      });
      return;
    }
    if (p.stage === 'attack-check') {
      if (p.done === 1) io.stderr(`attacking ${p.total} certified images inside their radius\n`);
      return;
    }
    done++;
    if (p.correct) correct++;
    progress.update((p.point + 1 - first) * perImage, {
      stage: `image ${p.point + 1}/${p.points}`,
      detail: `${correct}/${done} certified right`,
    });
  };
}

function summary(r: CertifyResult, written: readonly string[]): string {
  const s = r.settings;
  const sample = r.data.sample !== undefined ? ' (bundled sample)' : '';
  const lines = [
    `randomized smoothing of ${r.model.name} on ${r.data.n} ${r.data.name} ${r.data.split} images${sample}: ` +
      `sigma ${s.sigma}, n0 ${s.n0}, N ${s.samples}, alpha ${s.alpha}, seed ${s.seed}, backend ${r.backend}`,
    '',
    'L2 radius  certified accuracy',
    ...r.certifiedAccuracy.map((c) => `${String(c.radius).padEnd(10)} ${pct(c.accuracy).padStart(7)}`),
    '',
    `abstained on ${r.abstained} of ${r.points.length}; ${r.secondsPerImage.toFixed(2)} s per image` +
      (r.resumed > 0 ? `; ${r.resumed} read back from the state` : ''),
    r.sampleLimit.explanation,
    ...(r.radiusCheck === undefined
      ? []
      : [
          `attacked inside the certificates: ${r.radiusCheck.attacked} images, smoothed class changed on ` +
            `${r.radiusCheck.changed} (never expected), PREDICT abstained on ${r.radiusCheck.abstained} ` +
            `(L2 PGD-${r.radiusCheck.attack.steps}, EOT-${r.radiusCheck.attack.eot})`,
        ]),
    `${r.seconds.toFixed(0)} s; wrote ${written.join(', ')}`,
  ];
  return lines.join('\n') + '\n';
}
