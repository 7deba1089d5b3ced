import type { Command } from 'commander';
import path from 'node:path';
import { ATTACKS, getAttack } from '../../attacks/registry.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import { writeFileAtomic } from '../../data/node/atomic-write.js';
import { invalidArgument } from '../../errors.js';
import { attackTask } from '../../tasks/attack.js';
import { ATTACK_DEFAULTS, attackSchema } from '../../tasks/attack-spec.js';
import type { CliIo } from '../main.js';
import { assertWritableFile } from '../output-check.js';
import { createProgressLine } from '../progress.js';
import { addSpecOptions, specFromFlags, taskInput } from '../spec-flags.js';
import { withInterrupt } from '../interrupt.js';
import {
  addParamOptions,
  attacksAsJson,
  collectParamFlags,
  describeAttacks,
  paramsFromFlags,
} from './attack-params.js';
import { datasetText, imagesText } from './attack-text.js';

interface AttackCliOnly {
  out?: string;
  summary?: string;
  backend?: string;
  json?: boolean;
  list?: boolean;
  model?: string;
}

/** `advkit attack`: flags -> the attack task's spec; its result as text or JSON; its pictures where --out says. */
export function registerAttackCommand(program: Command, io: CliIo): void {
  const paramFlags = collectParamFlags(ATTACKS);
  const cmd = program
    .command('attack')
    .description(
      'Attack a model on image files (--image: one PNG with original | adversarial | perturbation x10 per image ' +
        'and budget, the rows of several images in one grid) or on a dataset sample (--data: a gallery PNG and a ' +
        'JSON summary). With no --model it uses the bundled MNIST model; with neither --image nor --data it ' +
        'attacks test samples of the dataset the model was trained on. List the attacks with `advkit attacks`.',
    );
  const flags = addSpecOptions(cmd, attackSchema, {
    omit: ['params', 'pictures'],
    describe: {
      attack: `attack: ${ATTACKS.map((a) => a.name).join(', ')} (default: ${ATTACK_DEFAULTS.attack})`,
    },
  });
  cmd
    .option('--out <file.png>', 'write the picture here (image mode: panels; dataset mode: the gallery)')
    .option('--summary <file.json>', 'dataset mode: write the JSON summary here (default: beside --out)')
    .option('--backend <name>', 'compute backend: wasm, cpu, tensorflow (default: best available)')
    .option('--json', 'print JSON')
    .option('--list', 'list the attacks, their norms and parameters, and exit');
  addParamOptions(cmd, paramFlags);
  cmd.action(async (opts: AttackCliOnly) => {
    if (opts.list) {
      printAttacks(io, opts.json === true);
      return;
    }
    const spec = specFromFlags(flags, cmd.opts());
    const attack = getAttack(typeof spec.attack === 'string' ? spec.attack : ATTACK_DEFAULTS.attack);
    spec.params = paramsFromFlags(attack, cmd.opts(), paramFlags);
    const images = spec.images !== undefined;
    checkOutputs(opts, images);
    spec.pictures = opts.out !== undefined;
    const out = opts.out === undefined ? null : path.resolve(opts.out);
    const summaryFile =
      opts.summary !== undefined
        ? path.resolve(opts.summary)
        : out === null
          ? null
          : out.replace(/\.png$/i, '.json');
    const backend = await initNodeBackend({ backend: opts.backend });
    const progress = createProgressLine(`${attack.name} [{bar}] {pct}% | {done}/{count} examples`, io.stderr);
    let started = false;
    const { result, artifacts } = await withInterrupt((signal) =>
      attackTask
        .run(taskInput(attackSchema, spec), {
          signal,
          onProgress: (p) => {
            const fields = { pct: Math.round(100 * p.fraction), done: p.done, count: p.total };
            if (!started) progress.start(100, fields);
            started = true;
            progress.update(100 * p.fraction, fields);
          },
        })
        .finally(() => progress.stop()),
    );
    const picture = artifacts.find((a) => a.mediaType === 'image/png');
    if (out !== null && picture !== undefined) await writeFileAtomic(out, picture.bytes);
    if (result.mode === 'images') {
      result.out = out;
      result.backend = backend;
      io.stdout(opts.json ? JSON.stringify(result, null, 2) + '\n' : imagesText(result, out));
      return;
    }
    result.gallery = out;
    result.backend = backend;
    if (summaryFile !== null)
      await writeFileAtomic(summaryFile, Buffer.from(JSON.stringify(result, null, 2) + '\n'));
    const written = [out, summaryFile].filter((f): f is string => f !== null);
    const modelDir = opts.model ?? result.model;
    io.stdout(opts.json ? JSON.stringify(result, null, 2) + '\n' : datasetText(result, modelDir, written));
  });

  program
    .command('attacks')
    .description('List the attacks with their norms, budget kind and parameters (the same as attack --list).')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => printAttacks(io, opts.json === true));
}

function printAttacks(io: CliIo, json: boolean): void {
  io.stdout(json ? JSON.stringify(attacksAsJson(ATTACKS), null, 2) + '\n' : describeAttacks(ATTACKS));
}

/** The output flags, checked before any work starts. */
function checkOutputs(opts: AttackCliOnly, images: boolean): void {
  if (opts.out !== undefined && path.extname(opts.out).toLowerCase() !== '.png') {
    throw invalidArgument(`--out must name a .png file, got '${opts.out}'.`);
  }
  if (images && opts.summary !== undefined) {
    throw invalidArgument(
      '--summary, --gallery and --transfer-to are for dataset mode (--data); with --image, use --out and --json.',
    );
  }
  if (opts.summary !== undefined && path.extname(opts.summary).toLowerCase() !== '.json') {
    throw invalidArgument(`--summary must name a .json file, got '${opts.summary}'.`);
  }
  if (opts.out !== undefined) assertWritableFile(opts.out, '--out');
  if (opts.summary !== undefined) assertWritableFile(opts.summary, '--summary');
}
