import type { Tensor4D } from '@tensorflow/tfjs-core';
import type { Command } from 'commander';
import path from 'node:path';
import { NORMS, type Norm } from '../../attacks/types.js';
import { toTensors } from '../../data/dataset.js';
import { writeFileAtomic } from '../../data/node/atomic-write.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import { invalidArgument } from '../../errors.js';
import { buildReport } from '../../evaluate/build-report.js';
import {
  evaluateRobustness,
  type EvaluationProgress,
  type RobustnessEvaluation,
} from '../../evaluate/evaluate-robustness.js';
import { modelSha256 } from '../../evaluate/fingerprint.js';
import { FileStateStore } from '../../evaluate/node/file-state-store.js';
import type { EvaluationReport, SanityFlag } from '../../evaluate/report-types.js';
import { resolveSuite, SUITE_ATTACKS, SUITE_NAMES } from '../../evaluate/suites.js';
import type { Classifier } from '../../models/classifier.js';
import { loadClassifier } from '../../models/node/load-classifier.js';
import { bundledModelDir, resolveModelDir } from '../../models/node/package-root.js';
import { loadModelSample } from '../dataset-sample.js';
import type { CliIo } from '../main.js';
import { nonNegativeInt, oneOf, positiveInt } from '../parse-options.js';
import { createProgressLine, type ProgressLine } from '../progress.js';
import { parseBudgets, type Budget } from './attack-shared.js';
import { evaluationTable } from './evaluate-table.js';
import { galleryItems } from './evaluate-gallery.js';
import { renderReportHtml } from '../../render/node/report-html.js';
import { runSanityChecks } from '../../evaluate/sanity/run-sanity-checks.js';

export interface EvaluateCliOptions {
  model?: string;
  labels?: string;
  data?: string;
  dataDir?: string;
  labelMap?: string;
  split: 'train' | 'test';
  n: number;
  norm: Norm;
  eps?: string;
  suite: string;
  eot?: number;
  seed: number;
  out: string;
  gallery: number;
  batchSize: number;
  backend?: string;
  json?: boolean;
  sanity: boolean;
  resume: boolean;
}

const DEFAULT_MODEL = 'mnist-cnn-robust';
const DEFAULT_N = 100;
const DEFAULT_OUT = 'advkit-evaluation';
/** Budgets used when --eps is not given, by the dataset the model was trained on. */
const DEFAULT_EPS: Readonly<Record<string, Readonly<Record<Norm, string>>>> = {
  mnist: { linf: '0.1,0.2,0.3', l2: '1,2,3', l1: '5,10,15' },
  cifar10: { linf: '2/255,4/255,8/255', l2: '0.25,0.5,1', l1: '6,12' },
};

export function registerEvaluateCommand(program: Command, io: CliIo): void {
  program
    .command('evaluate')
    .description(
      'How robust is a model, really? Runs the AutoAttack protocol (each attack on the points still robust, ' +
        'robust accuracy as the per-example worst case) at each eps, checks the evaluation for signs of ' +
        'gradient masking, and writes evaluation.json and a self-contained report.html. With no options it ' +
        `evaluates the bundled adversarially trained MNIST model on ${DEFAULT_N} test images at Linf 0.1, 0.2, 0.3. ` +
        'A killed or interrupted run resumes from its state file when run again with the same options.',
    )
    .option('--model <dir>', `model directory or bundled model name (default: ${DEFAULT_MODEL})`)
    .option('--labels <file>', 'class names for a model without advkit.json (txt, one per line, or JSON)')
    .option(
      '--data <name>',
      "dataset: mnist, fashion-mnist, cifar10, or an image folder (default: the model's)",
    )
    .option('--data-dir <dir>', 'where dataset files are (default: $ADVKIT_DATA, then the user cache)')
    .option('--label-map <file>', 'image folder: class names and labels (e.g. imagenet_class_index.json)')
    .option(
      '--split <split>',
      'dataset split: train or test',
      oneOf('--split', ['train', 'test'] as const),
      'test',
    )
    .option('--n <count>', 'points to evaluate (the first n of the split)', positiveInt('--n'), DEFAULT_N)
    .option('--norm <norm>', `threat model: ${NORMS.join(', ')}`, oneOf('--norm', NORMS), 'linf')
    .option(
      '--eps <budgets>',
      'budgets in input units, e.g. 0.1,0.2,0.3 or 8/255 (default for MNIST/CIFAR-10 models: three budgets)',
    )
    .option(
      '--suite <name>',
      `${SUITE_NAMES.join(', ')}, or a list of: ${SUITE_ATTACKS.join(', ')}`,
      'standard',
    )
    .option(
      '--eot <passes>',
      'average each gradient over this many passes (EOT) for a randomized model (default: 1; 20 with --suite rand)',
      positiveInt('--eot'),
    )
    .option('--seed <seed>', 'seed of every random choice of the attacks', nonNegativeInt('--seed'), 0)
    .option('--out <dir>', 'directory for evaluation.json, report.html and the resume state', DEFAULT_OUT)
    .option('--gallery <count>', 'points shown in the report gallery', nonNegativeInt('--gallery'), 8)
    .option('--batch-size <n>', 'examples per forward/backward pass', positiveInt('--batch-size'), 128)
    .option('--backend <name>', 'compute backend: wasm, cpu, tensorflow (default: best available)')
    .option('--no-sanity', 'skip the sanity checks (not recommended)')
    .option('--no-resume', 'ignore and replace a saved state in --out instead of resuming from it')
    .option('--json', 'print the JSON report instead of the table')
    .action(async (opts: EvaluateCliOptions) => {
      const suite = resolveSuite(opts.suite, opts.norm, opts.eot);
      const backend = await initNodeBackend({ backend: opts.backend });
      const modelDir =
        opts.model === undefined ? bundledModelDir(DEFAULT_MODEL) : resolveModelDir(opts.model);
      const classifier = await loadClassifier(modelDir, opts.labels ? { labels: opts.labels } : undefined);
      try {
        await evaluateCommand(classifier, modelDir, backend, suite.name, opts, io);
      } finally {
        classifier.dispose();
      }
    });
}

async function evaluateCommand(
  classifier: Classifier,
  modelDir: string,
  backend: string,
  suiteName: string,
  opts: EvaluateCliOptions,
  io: CliIo,
): Promise<void> {
  const dataName = opts.data ?? classifier.metadata.dataset ?? 'mnist';
  const budgets = resolveBudgets(opts, dataName);
  const { sample } = await loadModelSample(classifier, {
    data: dataName,
    split: opts.split,
    dataDir: opts.dataDir,
    labelMap: opts.labelMap,
    n: opts.n,
  });
  const { x, y } = toTensors(sample);
  const labels = Int32Array.from(y.dataSync());
  y.dispose();
  const started = new Date();
  const statePath = path.join(opts.out, 'evaluation.state.json');
  const store = new FileStateStore(statePath);
  if (!opts.resume) await store.clear();
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  process.once('SIGINT', onSigint);
  const bars = new StepProgress(io, budgets);
  try {
    const modelHash = await modelSha256(classifier);
    const evaluation = await evaluateRobustness(classifier, {
      x,
      labels,
      norm: opts.norm,
      eps: budgets.map((b) => b.value),
      suite: suiteName,
      eot: opts.eot,
      seed: opts.seed,
      batchSize: opts.batchSize,
      galleryCount: opts.gallery,
      state: store,
      modelKey: modelHash,
      signal: abort.signal,
      onProgress: (p) => bars.update(p),
    });
    bars.stop();
    if (evaluation.resumedChunks > 0) {
      io.stderr(
        `resumed: ${evaluation.resumedChunks} chunk(s) of work came from ${statePath} (--no-resume starts afresh)\n`,
      );
    }
    const flags = opts.sanity
      ? await sanityWithProgress(classifier, x, labels, evaluation, opts, abort.signal, io)
      : null;
    const report = buildReport(classifier, evaluation, {
      model: {
        name: path.basename(path.resolve(modelDir)),
        path: modelDir,
        sha256: modelHash,
        architecture: classifier.metadata.architecture,
      },
      dataset: { name: dataName, split: opts.split },
      flags,
      command: reproduceCommand(opts, dataName, budgets, suiteName, backend),
      started,
      seconds: (Date.now() - started.getTime()) / 1000,
    });
    await writeOutputs(opts.out, report, classifier, x, evaluation);
    if (opts.json) io.stdout(JSON.stringify(report, null, 2) + '\n');
    else {
      io.stdout(
        evaluationTable(
          report,
          budgets.map((b) => b.text),
        ),
      );
      io.stdout(
        `wrote ${path.join(opts.out, 'evaluation.json')} and ${path.join(opts.out, 'report.html')}\n`,
      );
    }
  } finally {
    bars.stop();
    process.removeListener('SIGINT', onSigint);
    x.dispose();
  }
}

async function writeOutputs(
  out: string,
  report: EvaluationReport,
  classifier: Classifier,
  x: Tensor4D,
  evaluation: RobustnessEvaluation,
): Promise<void> {
  const html = await renderReportHtml(report, await galleryItems(classifier, x, evaluation));
  await writeFileAtomic(
    path.join(out, 'evaluation.json'),
    new TextEncoder().encode(JSON.stringify(report, null, 2) + '\n'),
  );
  await writeFileAtomic(path.join(out, 'report.html'), new TextEncoder().encode(html));
}

function resolveBudgets(opts: EvaluateCliOptions, dataName: string): Budget[] {
  const text = opts.eps ?? DEFAULT_EPS[dataName]?.[opts.norm];
  if (text === undefined) {
    throw invalidArgument(
      `Give the budgets with --eps (e.g. --eps 8/255 or --eps 0.5,1); there is no default for '${dataName}'.`,
    );
  }
  const budgets = parseBudgets(text);
  if (budgets.some((b) => b.value === 0))
    throw invalidArgument('--eps must be positive: robust accuracy at eps 0 is the clean accuracy.');
  return budgets;
}

/** The command line that reproduces this report, every default spelled out. */
function reproduceCommand(
  opts: EvaluateCliOptions,
  dataName: string,
  budgets: readonly Budget[],
  suite: string,
  backend: string,
): string {
  const model = opts.model === undefined ? [] : ['--model', opts.model];
  const parts = [
    'advkit evaluate',
    ...model,
    '--data',
    dataName,
    '--split',
    opts.split,
    '--n',
    String(opts.n),
    '--norm',
    opts.norm,
    '--eps',
    budgets.map((b) => b.text).join(','),
    '--suite',
    suite,
    ...(opts.eot === undefined ? [] : ['--eot', String(opts.eot)]),
    '--seed',
    String(opts.seed),
    '--batch-size',
    String(opts.batchSize),
    '--backend',
    backend,
  ];
  return parts
    .map((p) => (/^[\w./,:=+-]+$/.test(p) || p === 'advkit evaluate' ? p : `'${p.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

async function sanityWithProgress(
  classifier: Classifier,
  x: Tensor4D,
  labels: Int32Array,
  evaluation: RobustnessEvaluation,
  opts: EvaluateCliOptions,
  signal: AbortSignal,
  io: CliIo,
): Promise<SanityFlag[]> {
  const line = createProgressLine('sanity checks [{bar}] {value}% | {check}', io.stderr);
  line.start(100, { check: '' });
  try {
    return await runSanityChecks({
      classifier,
      x,
      labels,
      evaluation,
      eot: evaluation.suite.entries.some((e) => e.eot > 1),
      seed: opts.seed,
      batchSize: opts.batchSize,
      signal,
      onProgress: (p) => line.update(Math.round(100 * p.fraction), { check: p.check }),
    });
  } finally {
    line.stop();
  }
}

/** One progress bar per (eps, attack) step, with the running robust accuracy. */
class StepProgress {
  private line: ProgressLine | null = null;
  private step = '';

  constructor(
    private readonly io: CliIo,
    private readonly budgets: readonly Budget[],
  ) {}

  update(p: EvaluationProgress): void {
    const step = `${p.epsIndex}/${p.attackIndex}`;
    const fields = {
      robust: (100 * p.robustAccuracy).toFixed(1),
      note: p.resumed ? ' (resumed)' : '',
    };
    if (step !== this.step) {
      this.line?.stop();
      this.step = step;
      const eps = this.budgets[p.epsIndex]?.text ?? String(p.eps);
      this.line = createProgressLine(
        `eps ${eps} ${p.attack.padEnd(8)} [{bar}] {value}/{total} points | robust {robust}%{note}`,
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
