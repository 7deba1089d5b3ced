import * as tf from '@tensorflow/tfjs-core';
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { getAttack } from '../../attacks/registry.js';
import { NORMS, type Norm } from '../../attacks/types.js';
import { toTensors, take, type ImageDataset } from '../../data/dataset.js';
import { writeFileAtomic } from '../../data/node/atomic-write.js';
import { loadDataset } from '../../data/node/load-dataset.js';
import { subset } from '../../data/subset.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import { invalidArgument } from '../../errors.js';
import {
  compareRobustness,
  type CompareAttackSpec,
  type ModelRobustness,
  type RobustnessComparison,
} from '../../evaluate/compare.js';
import type { Classifier } from '../../models/classifier.js';
import { loadClassifier } from '../../models/node/load-classifier.js';
import { bundledModelDir, resolveModelDir } from '../../models/node/package-root.js';
import { Rng } from '../../util/rng.js';
import { ADVKIT_VERSION } from '../../version.js';
import type { CliIo } from '../main.js';
import { nonNegativeInt, oneOf, positiveInt } from '../parse-options.js';
import { createProgressLine } from '../progress.js';
import { collectParamFlags, flagsOf, paramsFromFlags } from './attack-params.js';
import { percent } from '../../tasks/attack-shared.js';
import { parseBudgets } from '../../tasks/budgets.js';

export interface CompareCliOptions {
  models?: string;
  names?: string;
  data?: string;
  dataDir?: string;
  split: 'train' | 'test';
  n: number;
  seed?: number;
  norm: Norm;
  eps?: string;
  attacks: string;
  batchSize: number;
  backend?: string;
  out?: string;
  json?: boolean;
}

/** What --out writes (and --json prints). */
export interface CompareSummary extends RobustnessComparison {
  format: 'advkit-compare/1';
  advkit: string;
  backend: string;
  /** The budgets as given ('8/255'), in the order of `eps`. */
  epsText: string[];
  dataset: { name: string; split: string; n: number; sample: string; notes: string[] };
  /** Model directories, in the order of `models`. */
  modelPaths: string[];
  command: string;
  seconds: number;
}

const DEFAULT_MODELS = ['mnist-cnn', 'mnist-cnn-robust'] as const;
const DEFAULT_N = 1000;
const DEFAULT_ATTACKS = 'fgsm,pgd';
/** Budgets used when --eps is not given, by the dataset the models were trained on. */
const DEFAULT_EPS: Readonly<Record<string, Readonly<Record<Norm, string>>>> = {
  mnist: { linf: '0.1,0.2,0.3', l2: '1,2,3', l1: '5,10,15' },
  cifar10: { linf: '2/255,4/255,8/255', l2: '0.25,0.5,1.25', l1: '6,12' },
};

export function registerCompareCommand(program: Command, io: CliIo): void {
  program
    .command('compare')
    .description(
      'Clean and adversarial accuracy of several models (a standard one next to an adversarially trained one) ' +
        'on the same images, with the same attacks, budgets and seed: a table with a row per model and a ' +
        'column per attack and eps, plus the robust accuracy (correct under every attack). --out writes the ' +
        'JSON and a Markdown table beside it. With no options it compares the bundled standard and robust ' +
        `MNIST CNNs on ${DEFAULT_N} test images at Linf 0.1, 0.2, 0.3 with FGSM and PGD-40.`,
    )
    .option(
      '--models <dirs>',
      'comma-separated model directories or names of bundled models (e.g. cifar-linear,cifar-linear-robust; ' +
        `default: the bundled ${DEFAULT_MODELS.join(' and ')})`,
    )
    .option('--names <list>', "comma-separated row names (default: each directory's name)")
    .option(
      '--data <name>',
      "dataset: mnist, fashion-mnist, cifar10, or an image folder (default: the first model's); only the " +
        "models' classes are used (a two-class CIFAR model gets the images of its two classes)",
    )
    .option('--data-dir <dir>', 'where dataset files are (default: $ADVKIT_DATA, then the user cache)')
    .option(
      '--split <split>',
      'dataset split: train or test',
      oneOf('--split', ['train', 'test'] as const),
      'test',
    )
    .option(
      '--n <count>',
      'images to evaluate (at most): the first n, or a seeded random n with --seed',
      positiveInt('--n'),
      DEFAULT_N,
    )
    .option(
      '--seed <seed>',
      'seed of the attacks (random starts) and of the sample (default: the first n, attack seed 0)',
      nonNegativeInt('--seed'),
    )
    .option('--norm <norm>', `budget norm: ${NORMS.join(', ')}`, oneOf('--norm', NORMS), 'linf')
    .option(
      '--eps <budgets>',
      'comma-separated budgets in input units, e.g. 0.1,0.2,0.3 or 2/255,8/255 (default by dataset and norm: ' +
        'mnist linf 0.1,0.2,0.3, l2 1,2,3; cifar10 linf 2/255,4/255,8/255, l2 0.25,0.5,1.25)',
    )
    .option(
      '--attacks <list>',
      'comma-separated untargeted attacks, each with optional parameters after colons, e.g. ' +
        'fgsm,pgd:steps=100:restarts=2 (see advkit attacks)',
      DEFAULT_ATTACKS,
    )
    .option('--batch-size <n>', 'examples per forward/backward pass', positiveInt('--batch-size'), 128)
    .option('--backend <name>', 'compute backend: wasm, cpu, tensorflow (default: best available)')
    .option('--out <file.json>', 'write the JSON here and a Markdown table beside it (<file>.md)')
    .option('--json', 'print the JSON instead of the table')
    .action(async (opts: CompareCliOptions) => {
      const t0 = Date.now();
      const attacks = parseAttacks(opts.attacks);
      const givenBudgets = opts.eps === undefined ? undefined : parseBudgets(opts.eps);
      const dirs = modelDirs(opts.models);
      const names = rowNames(dirs, opts.names);
      checkOut(opts.out);
      const backend = await initNodeBackend({ backend: opts.backend });
      const classifiers: Classifier[] = [];
      const abort = new AbortController();
      const onSigint = (): void => abort.abort();
      const progress = createProgressLine('compare [{bar}] {pct}% | {model} {attack}', io.stderr);
      try {
        for (const dir of dirs) classifiers.push(await loadClassifier(dir));
        const budgets = givenBudgets ?? parseBudgets(defaultEps(classifiers[0], opts));
        const sample = await loadSample(classifiers[0], opts);
        for (const note of sample.notes) io.stderr(`note: ${note}\n`);
        process.once('SIGINT', onSigint);
        let started = false;
        try {
          const comparison = await compareRobustness(
            classifiers.map((classifier, i) => ({ name: names[i], classifier })),
            {
              x: sample.x,
              labels: sample.labels,
              norm: opts.norm,
              eps: budgets.map((b) => b.value),
              attacks,
              seed: opts.seed ?? 0,
              batchSize: opts.batchSize,
              signal: abort.signal,
              onProgress: (p) => {
                const fields = { pct: Math.round(100 * p.fraction), model: p.model, attack: p.attack };
                if (!started) progress.start(100, fields);
                started = true;
                progress.update(100 * p.fraction, fields);
              },
            },
          );
          progress.stop();
          const summary: CompareSummary = {
            format: 'advkit-compare/1',
            advkit: ADVKIT_VERSION,
            backend,
            ...comparison,
            epsText: budgets.map((b) => b.text),
            dataset: {
              name: sample.name,
              split: opts.split,
              n: comparison.n,
              sample: opts.seed === undefined ? 'first n' : `random (seed ${opts.seed})`,
              notes: sample.notes,
            },
            modelPaths: dirs.map((d) => path.resolve(d)),
            command: ['advkit', ...process.argv.slice(2)].join(' '),
            seconds: (Date.now() - t0) / 1000,
          };
          const written = await writeOutputs(summary, opts.out);
          if (opts.json) io.stdout(JSON.stringify(summary, null, 2) + '\n');
          else io.stdout(compareText(summary, written));
        } finally {
          sample.x.dispose();
        }
      } finally {
        progress.stop();
        process.removeListener('SIGINT', onSigint);
        classifiers.forEach((c) => c.dispose());
      }
    });
}

/** --attacks: 'fgsm,pgd:steps=100:restarts=2', each parameter checked against the attack's schema. */
export function parseAttacks(value: string): CompareAttackSpec[] {
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) {
    throw invalidArgument(`--attacks must be a comma-separated list such as fgsm,pgd; got '${value}'.`);
  }
  return items.map((item) => {
    const [name, ...assignments] = item.split(':').map((s) => s.trim());
    const attack = getAttack(name);
    const values: Record<string, string> = {};
    for (const assignment of assignments) {
      const m = /^([A-Za-z][\w-]*)=(.+)$/.exec(assignment);
      const key = m?.[1].replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      if (m === null || key === undefined || !Object.hasOwn(attack.schema, key)) {
        throw invalidArgument(
          `--attacks: '${assignment}' in '${item}' is not a parameter of ${attack.name} written as name=value; ` +
            `its parameters are ${flagsOf(attack).replaceAll('--', '')}.`,
        );
      }
      values[key] = m[2];
    }
    const params = paramsFromFlags(attack, values, collectParamFlags([attack]));
    return { attack, params };
  });
}

function modelDirs(value: string | undefined): string[] {
  if (value === undefined) return DEFAULT_MODELS.map((name) => bundledModelDir(name));
  const dirs = value.split(',').map((s) => s.trim());
  if (dirs.some((d) => d === '')) {
    throw invalidArgument(`--models must be comma-separated model directories; got '${value}'.`);
  }
  return dirs.map((d) => resolveModelDir(d, '--models'));
}

function rowNames(dirs: string[], value: string | undefined): string[] {
  if (value === undefined) {
    const base = dirs.map((d) => path.basename(path.resolve(d)));
    return new Set(base).size === base.length ? base : dirs;
  }
  const names = value.split(',').map((s) => s.trim());
  if (names.length !== dirs.length || names.some((n) => n === '')) {
    throw invalidArgument(
      `--names must give one non-empty name per model (${dirs.length}), got ${names.length}: '${value}'.`,
    );
  }
  return names;
}

function checkOut(out: string | undefined): void {
  if (out !== undefined && path.extname(out).toLowerCase() !== '.json') {
    throw invalidArgument(`--out must name a .json file (the Markdown table goes beside it), got '${out}'.`);
  }
  if (out !== undefined && existsSync(out) && statSync(out).isDirectory()) {
    throw invalidArgument(`--out '${out}' is a directory; give a file name such as compare.json.`);
  }
}

function defaultEps(classifier: Classifier, opts: CompareCliOptions): string {
  const dataset = (opts.data ?? classifier.metadata.dataset ?? 'mnist')
    .toLowerCase()
    .replace('cifar-10', 'cifar10');
  const eps = DEFAULT_EPS[dataset]?.[opts.norm];
  if (eps === undefined) {
    throw invalidArgument(
      `Give --eps: there are no default budgets for ${opts.norm} on '${dataset}' (e.g. --eps 2/255,8/255 for linf ` +
        'or --eps 0.5,1 for l2 on [0, 1] images).',
    );
  }
  return eps;
}

interface Sample {
  name: string;
  /** Pixels scaled into the model's bounds. */
  x: tf.Tensor4D;
  /** The model's class indices. */
  labels: Int32Array;
  notes: string[];
}

/**
 * The images to compare on, labelled with the model's class indices (matched by name). A dataset with classes
 * the model does not have is narrowed to the model's classes: a cat-vs-airplane CIFAR model is compared on
 * the cat and airplane test images.
 */
async function loadSample(classifier: Classifier, opts: CompareCliOptions): Promise<Sample> {
  const [height, width, channels] = classifier.inputShape;
  let ds: ImageDataset = await loadDataset(opts.data ?? classifier.metadata.dataset ?? 'mnist', {
    split: opts.split,
    dir: opts.dataDir,
    imageSize: [height, width],
    channels: channels === 1 ? 1 : 3,
  });
  if (ds.height !== height || ds.width !== width || ds.channels !== channels) {
    throw invalidArgument(
      `Dataset '${ds.name}' has ${ds.height}x${ds.width}x${ds.channels} images but the models expect ${height}x${width}x${channels}.`,
    );
  }
  const index = new Map(classifier.classNames.map((name, i) => [name, i]));
  const known = ds.classNames.filter((name) => index.has(name));
  if (known.length === 0) {
    throw invalidArgument(
      `None of the classes of dataset '${ds.name}' (${ds.classNames.slice(0, 10).join(', ')}) is a class of the ` +
        `models (${classifier.classNames.slice(0, 10).join(', ')}).`,
    );
  }
  if (known.length < ds.classNames.length) ds = subset(ds, { classes: known, relabel: true });
  const n = Math.min(opts.n, ds.count);
  const indices =
    opts.seed === undefined
      ? Int32Array.from({ length: n }, (_, i) => i)
      : new Rng(opts.seed).permutation(ds.count).slice(0, n);
  const picked = take(ds, indices);
  const labels = picked.labels.map((label) => index.get(picked.classNames[label]) ?? -1);
  const { x, y } = toTensors(picked);
  y.dispose();
  const [lo, hi] = classifier.bounds;
  const scaled = lo === 0 && hi === 1 ? x : tf.tidy(() => tf.add<tf.Tensor4D>(tf.mul(x, hi - lo), lo));
  if (scaled !== x) x.dispose();
  const notes = [...(ds.notes ?? [])];
  if (n < opts.n)
    notes.push(`${ds.name} (${opts.split}) has ${ds.count} images for these classes; using all ${n}`);
  return { name: ds.name, x: scaled, labels, notes };
}

async function writeOutputs(summary: CompareSummary, out: string | undefined): Promise<string[]> {
  if (out === undefined) return [];
  const json = path.resolve(out);
  const markdown = json.replace(/\.json$/i, '.md');
  await writeFileAtomic(json, Buffer.from(JSON.stringify(summary, null, 2) + '\n'));
  await writeFileAtomic(markdown, Buffer.from(compareMarkdown(summary)));
  return [json, markdown];
}

interface Column {
  group: string;
  eps: string;
  value: (row: ModelRobustness) => number;
}

/** Clean, then each attack at each eps, then the worst case over the attacks at each eps. */
function columns(s: CompareSummary): Column[] {
  const perEps = (group: string, values: (row: ModelRobustness) => number[]): Column[] =>
    s.epsText.map((eps, e) => ({ group, eps, value: (row) => values(row)[e] }));
  return [
    { group: '', eps: 'clean', value: (row) => row.cleanAccuracy },
    ...s.attacks.flatMap((a, k) => perEps(a.label, (row) => row.attacks[k].accuracy)),
    ...(s.attacks.length > 1 ? perEps('robust', (row) => row.worstCase) : []),
  ];
}

const NORM_NAME: Record<Norm, string> = { linf: 'Linf', l2: 'L2', l1: 'L1' };

/** The terminal table: a header line of column groups (attacks) over a line of budgets. */
export function compareTable(s: CompareSummary): string {
  const cols = columns(s);
  const first = Math.max('model'.length, ...s.models.map((m) => m.name.length));
  const cells = s.models.map((row) => cols.map((c) => percent(c.value(row))));
  const widths = cols.map((c, k) => Math.max(c.eps.length, ...cells.map((r) => r[k].length)));
  const groups = cols.map((c, k) => (k === 0 || cols[k - 1].group !== c.group ? c.group : ''));
  const line = (head: string, row: string[]): string =>
    [head.padEnd(first), ...row.map((cell, k) => cell.padStart(widths[k]))].join('  ').trimEnd();
  const groupLine = [
    ''.padEnd(first),
    ...groups.map((g, k) => (g === '' ? ''.padEnd(widths[k]) : g.padEnd(widths[k]))),
  ]
    .join('  ')
    .trimEnd();
  return (
    [
      groupLine,
      line(
        'model',
        cols.map((c) => c.eps),
      ),
      ...s.models.map((row, r) => line(row.name, cells[r])),
    ].join('\n') + '\n'
  );
}

/** The same table in Markdown, with a line saying what was measured. */
export function compareMarkdown(s: CompareSummary): string {
  const cols = columns(s);
  const header = cols.map((c) => (c.group === '' ? c.eps : `${c.group} ${c.eps}`));
  return [
    `Accuracy on ${s.n} ${s.dataset.name} ${s.dataset.split} images (${s.dataset.sample}), ${NORM_NAME[s.norm]} ` +
      `budgets, untargeted attacks (${s.attacks.map((a) => `${a.label}: ${paramText(a.params)}`).join('; ')}), ` +
      `seed ${s.seed}${s.attacks.length > 1 ? '; robust = correct under every attack' : ''}.`,
    '',
    `| model | ${header.join(' | ')} |`,
    `|---|${cols.map(() => '---:').join('|')}|`,
    ...s.models.map((row) => `| ${row.name} | ${cols.map((c) => percent(c.value(row))).join(' | ')} |`),
    '',
    ...s.dataset.notes.map((note) => `- ${note}`),
    ...(s.dataset.notes.length > 0 ? [''] : []),
    `\`${s.command}\``,
    '',
  ].join('\n');
}

function paramText(params: Readonly<Record<string, unknown>>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? Number(v.toPrecision(4)) : String(v)}`);
  return parts.length === 0 ? 'defaults' : parts.join(', ');
}

function compareText(s: CompareSummary, written: string[]): string {
  return (
    [
      `data: ${s.dataset.name}/${s.dataset.split}, ${s.n} images (${s.dataset.sample}); backend ${s.backend}`,
      `attacks (untargeted, ${NORM_NAME[s.norm]}): ${s.attacks.map((a) => `${a.label} (${paramText(a.params)})`).join('; ')}`,
      'accuracy:',
      compareTable(s).trimEnd(),
      ...(s.attacks.length > 1 ? ['robust: correct on the clean image and under every attack'] : []),
      `${s.seconds.toFixed(0)} s`,
      written.length > 0
        ? `wrote ${written.join(', ')}`
        : '(give --out <file.json> to save the JSON and a Markdown table)',
    ].join('\n') + '\n'
  );
}
