import type { Command } from 'commander';
import path from 'node:path';
import { AdvkitError } from '../../errors.js';
import { detectTask, type DetectProgress, type DetectResult } from '../../tasks/detect.js';
import { detectTaskSchema } from '../../tasks/detect-spec.js';
import type { CliIo } from '../main.js';
import type { ProgressLine } from '../progress.js';
import { runTaskToDir } from '../run-task-to-dir.js';
import { addSpecOptions, specFromFlags, taskInput, withFlagNames } from '../spec-flags.js';

const DEFAULT_OUT = 'advkit-detect';

interface DetectCliOptions {
  out: string;
  stateDir?: string;
  restart?: boolean;
  backend?: string;
  json?: boolean;
}

/**
 * `advkit detect`: flags -> the detect task's spec; detect.json and detect.md written to --out, the table
 * printed; the rows so far kept in --state-dir, so that the same command run again continues.
 */
export function registerDetectCommand(program: Command, io: CliIo): void {
  const cmd = program
    .command('detect')
    .description(
      'Adversarial-example detectors evaluated as an attacker would: feature squeezing (Xu et al. 2018) and ' +
        'binary detectors on the inputs or an activation (Metzen et al. 2017, as ART), trained on clean vs PGD ' +
        'training images. Each is thresholded for --fpr false positives on clean training images; on the first ' +
        '--n test images it reports the held-out FPR and, against FGSM, PGD, C&W and an adaptive attack that ' +
        'knows the detector (Carlini & Wagner 2017), the detection rate and the adversarial-and-undetected rate. ' +
        'Writes detect.json and detect.md; a stopped run continues when the same command is run again.',
    );
  const flags = addSpecOptions(cmd, detectTaskSchema);
  cmd
    .option('--out <dir>', 'where to write detect.json and detect.md', DEFAULT_OUT)
    .option('--state-dir <dir>', 'where the rows so far are kept (default: <out>/state)')
    .option('--restart', 'discard the state of a run with other settings found in the state directory')
    .option('--backend <name>', 'compute backend: native, wasm, cpu (default: best available)')
    .option('--json', 'print the result as JSON')
    .action(async () => {
      const opts = cmd.opts<DetectCliOptions>();
      const spec = taskInput(detectTaskSchema, specFromFlags(flags, cmd.opts()));
      const stateDir = path.resolve(opts.stateDir ?? path.join(opts.out, 'state'));
      try {
        await runTaskToDir(
          io,
          { ...opts, stateDir },
          (signal, progress) =>
            detectTask.run(spec, {
              stateDir,
              restart: opts.restart === true,
              command: ['advkit', ...process.argv.slice(2).filter((a) => a !== '--restart')].join(' '),
              signal,
              onNote: (note) => io.stderr(`note: ${note}\n`),
              onProgress: reporter(progress, io),
            }),
          (r, written) => `${detectTable(r)}\n${r.seconds.toFixed(0)} s; wrote ${written.join(', ')}\n`,
        );
      } catch (err) {
        if (err instanceof AdvkitError && err.code === 'ABORTED') {
          io.stderr(
            `stopped; the rows measured so far are in ${stateDir}: run the same command to continue.\n`,
          );
        }
        throw withFlagNames(err, flags, { restart: '--restart' });
      }
    });
}

/** A bar per attack run and per detector training; a line per finished row. */
function reporter(progress: ProgressLine, io: CliIo): (p: DetectProgress) => void {
  let current = '';
  const bar = (name: string, total: number): void => {
    if (current === name) return;
    progress.stop();
    current = name;
    progress.start(total, { stage: name, detail: '-' });
  };
  return (p) => {
    if (p.stage === 'start') {
      io.stderr(
        `detect on ${p.model}: ${p.rows - p.resumed} of ${p.rows} rows to measure (${p.resumed} done before), backend ${p.backend}\n`,
      );
      return;
    }
    if (p.stage === 'attack') {
      bar(p.attack, 100);
      progress.update(Math.round(100 * p.fraction), { stage: p.attack, detail: '%' });
      return;
    }
    if (p.stage === 'train') {
      bar(`train ${p.detector}`, p.totalSteps);
      progress.update(p.step, { stage: `train ${p.detector}`, detail: `epoch ${p.epoch + 1}/${p.epochs}` });
      return;
    }
    progress.stop();
    current = '';
    const r = p.row;
    io.stderr(
      `${p.done}/${p.rows} ${r.detector} vs ${r.attack}: detected ${pct(r.detectionRate)}, ` +
        `adversarial and undetected ${pct(r.undetectedAdversarial)}\n`,
    );
  };
}

const pct = (v: number): string => (Number.isNaN(v) ? '-' : `${(100 * v).toFixed(1)}%`);

/** The readable table: per detector its threshold and held-out FPR, then a line per attack. */
export function detectTable(r: DetectResult): string {
  const s = r.settings;
  const sample = r.data.sample !== undefined ? ' (bundled sample)' : '';
  const header = ['detector', 'FPR', 'attack', 'success', 'detected', 'adv+undetected'];
  const body = r.rows.map((row) => {
    const info = r.detectors.find((d) => d.name === row.detector);
    return [
      row.detector,
      info === undefined ? '-' : pct(info.heldOutFpr),
      row.attack,
      pct(row.attackSuccess),
      pct(row.detectionRate),
      pct(row.undetectedAdversarial),
    ];
  });
  for (const w of r.worstCase) {
    body.push([w.detector, '', 'worst case', '', '', pct(w.undetectedAdversarial)]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return (
    [
      `detectors on ${r.model.name}, ${r.data.n} ${r.data.name} ${r.data.split} images${sample} ` +
        `(clean accuracy ${pct(r.cleanAccuracy)}): thresholds for ${pct(s.fpr)} false positives on ` +
        `${s.calibration.images} clean training images; Linf eps ${s.epsText} (C&W: L2, unbounded); seed ${s.seed}; ` +
        `backend ${r.backend}`,
      '',
      line(header),
      ...body.map(line),
      '',
      'FPR: false positives on the clean test images; success: attack success on the images classified right;',
      'detected: of the successful adversarial images; adv+undetected: of the images, misclassified and not flagged;',
      'worst case: the images some attack got past the detector, per image over the attacks.',
      ...(r.resumed > 0 ? [`${r.resumed} rows read back from the state`] : []),
    ].join('\n') + '\n'
  );
}
