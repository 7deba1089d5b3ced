import type { Command } from 'commander';
import path from 'node:path';
import { ATTACKS, getAttack } from '../../attacks/registry.js';
import type { AttackProgress } from '../../attacks/run-attack.js';
import { NORMS, type Attack, type Norm } from '../../attacks/types.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import { invalidArgument } from '../../errors.js';
import type { Classifier } from '../../models/classifier.js';
import { loadClassifier } from '../../models/node/load-classifier.js';
import { bundledModelDir } from '../../models/node/package-root.js';
import type { Schema } from '../../util/schema.js';
import { nonNegativeInt, oneOf, positiveInt } from '../parse-options.js';
import { createProgressLine } from '../progress.js';
import type { CliIo } from '../main.js';
import { attackDataset } from './attack-dataset.js';
import { attackImages } from './attack-images.js';
import {
  addParamOptions,
  attacksAsJson,
  collectParamFlags,
  describeAttacks,
  paramsFromFlags,
} from './attack-params.js';
import { parseBudgets, type Budget } from './attack-shared.js';
import { resolveTarget, type ResolvedTarget } from './attack-target.js';

export interface AttackCliOptions {
  model?: string;
  labels?: string;
  image?: string[];
  data?: string;
  dataDir?: string;
  labelMap?: string;
  split: 'train' | 'test';
  n: number;
  seed?: number;
  attack: string;
  norm?: Norm;
  eps?: string;
  target?: string;
  out?: string;
  summary?: string;
  gallery?: number;
  batchSize: number;
  eot?: number;
  backend?: string;
  json?: boolean;
  list?: boolean;
  transferTo?: string;
}

/** Everything a mode needs, checked: the loaded model, the attack with its parameters, goal and budgets. */
export interface AttackJob {
  classifier: Classifier;
  modelDir: string;
  backend: string;
  attack: Attack<Schema>;
  /** The parameters given as flags (runAttack fills in the defaults). */
  params: Record<string, unknown>;
  norm: Norm;
  /** Undefined for a minimal attack run without a budget. */
  budgets: Budget[] | undefined;
  target: ResolvedTarget;
  seed: number;
  batchSize: number;
  /** Passes averaged per gradient (EOT), for randomized models. */
  eot: number;
  signal: AbortSignal;
  onProgress: (p: AttackProgress) => void;
  /** Ends the progress bar, so that results print on clean lines. */
  endProgress: () => void;
  /** --transfer-to: the model that classifies the adversarial inputs crafted on `classifier`. */
  transfer?: { classifier: Classifier; modelDir: string };
}

const DEFAULT_ATTACK = 'pgd';

export function registerAttackCommand(program: Command, io: CliIo): void {
  const flags = collectParamFlags(ATTACKS);
  const cmd = program
    .command('attack')
    .description(
      'Attack a model on image files (--image: one PNG with original | adversarial | perturbation x10 per image ' +
        'and budget, the rows of several images in one grid) or on a dataset sample (--data: a gallery PNG and a ' +
        'JSON summary). With no --model it uses the bundled MNIST model; with neither --image nor --data it ' +
        'attacks test samples of the dataset the model was trained on. List the attacks with `advkit attacks`.',
    )
    .option('--model <dir>', 'model directory (default: the bundled mnist-cnn)')
    .option('--labels <file>', 'class names for a model without advkit.json (txt, one per line, or JSON)')
    .option(
      '--image <files...>',
      'image file(s) to attack (PNG, JPEG, WebP, ...), resized to the model input',
    )
    .option('--data <name>', 'dataset to sample: mnist, fashion-mnist, cifar10, or an image folder')
    .option('--data-dir <dir>', 'where dataset files are (default: $ADVKIT_DATA, then the user cache)')
    .option('--label-map <file>', 'image folder: class names and labels (e.g. imagenet_class_index.json)')
    .option(
      '--split <split>',
      'dataset split: train or test',
      oneOf('--split', ['train', 'test'] as const),
      'test',
    )
    .option('--n <count>', 'number of dataset samples', positiveInt('--n'), 100)
    .option(
      '--seed <seed>',
      'seed of the attack (random starts, random targets) and of the sample (default: the first n, seed 0)',
      nonNegativeInt('--seed'),
    )
    .option('--attack <name>', `attack: ${ATTACKS.map((a) => a.name).join(', ')}`, DEFAULT_ATTACK)
    .option(
      '--norm <norm>',
      `budget norm: ${NORMS.join(', ')} (default: linf, or the attack's first norm)`,
      oneOf('--norm', NORMS),
    )
    .option('--eps <budget>', 'budget in input units: 0.3, 8/255, or a list 0.1,0.2,0.3 (a result per eps)')
    .option(
      '--target <class>',
      'targeted: a class name or index, least-likely or random (default: untargeted)',
    )
    .option('--out <file.png>', 'write the picture here (image mode: panels; dataset mode: the gallery)')
    .option('--summary <file.json>', 'dataset mode: write the JSON summary here (default: beside --out)')
    .option(
      '--gallery <count>',
      'dataset mode: examples shown in the gallery (default: up to 100)',
      positiveInt('--gallery'),
    )
    .option(
      '--transfer-to <dir>',
      'dataset mode: craft on --model (the surrogate), then report how many fool this model (transfer rate)',
    )
    .option('--batch-size <n>', 'examples per forward/backward pass', positiveInt('--batch-size'), 128)
    .option(
      '--eot <passes>',
      'average each gradient over this many passes (EOT), for a randomized model',
      positiveInt('--eot'),
      1,
    )
    .option('--backend <name>', 'compute backend: wasm, cpu, tensorflow (default: best available)')
    .option('--json', 'print JSON')
    .option('--list', 'list the attacks, their norms and parameters, and exit');
  addParamOptions(cmd, flags);
  cmd.action(async (opts: AttackCliOptions) => {
    if (opts.list) {
      printAttacks(io, opts.json === true);
      return;
    }
    const attack = getAttack(opts.attack);
    const params = paramsFromFlags(attack, cmd.opts(), flags);
    const norm = checkNorm(attack, opts.norm);
    const budgets = opts.eps === undefined ? undefined : parseBudgets(opts.eps);
    checkOptions(attack, opts, budgets);

    const backend = await initNodeBackend({ backend: opts.backend });
    const modelDir = opts.model ?? bundledModelDir('mnist-cnn');
    const classifier = await loadClassifier(modelDir, opts.labels ? { labels: opts.labels } : undefined);
    const transfer =
      opts.transferTo === undefined
        ? undefined
        : { classifier: await loadClassifier(opts.transferTo), modelDir: opts.transferTo };
    const abort = new AbortController();
    const onSigint = (): void => abort.abort();
    process.once('SIGINT', onSigint);
    const progress = createProgressLine(`${attack.name} [{bar}] {pct}% | {done}/{count} examples`, io.stderr);
    let started = false;
    try {
      const job: AttackJob = {
        classifier,
        modelDir,
        backend,
        attack,
        params,
        norm,
        budgets,
        target: resolveTarget(opts.target, classifier.classNames),
        seed: opts.seed ?? 0,
        batchSize: opts.batchSize,
        eot: opts.eot ?? 1,
        signal: abort.signal,
        onProgress: (p) => {
          const fields = { pct: Math.round(100 * p.fraction), done: p.done, count: p.total };
          if (!started) progress.start(100, fields);
          started = true;
          progress.update(100 * p.fraction, fields);
        },
        endProgress: () => progress.stop(),
        transfer,
      };
      if (opts.image) await attackImages(job, opts.image, opts, io);
      else await attackDataset(job, opts, io);
    } finally {
      progress.stop();
      process.removeListener('SIGINT', onSigint);
      classifier.dispose();
      transfer?.classifier.dispose();
    }
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

function checkNorm(attack: Attack<Schema>, norm: Norm | undefined): Norm {
  const chosen = norm ?? (attack.norms.includes('linf') ? 'linf' : attack.norms[0]);
  if (!attack.norms.includes(chosen)) {
    throw invalidArgument(
      `${attack.name} does not support --norm ${chosen}; it supports ${attack.norms.join(', ')}.`,
    );
  }
  return chosen;
}

/** Mistakes we can name before loading anything. */
function checkOptions(attack: Attack<Schema>, opts: AttackCliOptions, budgets: Budget[] | undefined): void {
  if (opts.image && opts.data) throw invalidArgument('Give either --image or --data, not both.');
  if (budgets === undefined && attack.budget === 'fixed') {
    throw invalidArgument(
      `${attack.name} needs a budget: give --eps (e.g. --eps 8/255 for linf, --eps 0.5 for l2 on [0, 1] inputs).`,
    );
  }
  if (opts.target !== undefined && !attack.targeted) {
    throw invalidArgument(`${attack.name} only runs untargeted; remove --target.`);
  }
  if (opts.out !== undefined && path.extname(opts.out).toLowerCase() !== '.png') {
    throw invalidArgument(`--out must name a .png file, got '${opts.out}'.`);
  }
  if (
    opts.image &&
    (opts.summary !== undefined || opts.gallery !== undefined || opts.transferTo !== undefined)
  ) {
    throw invalidArgument(
      '--summary, --gallery and --transfer-to are for dataset mode (--data); with --image, use --out and --json.',
    );
  }
  if (opts.summary !== undefined && path.extname(opts.summary).toLowerCase() !== '.json') {
    throw invalidArgument(`--summary must name a .json file, got '${opts.summary}'.`);
  }
}
