import type { Command } from 'commander';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { initNodeBackend } from '../../backend/node-backend.js';
import { FileCheckpointStore, assertCanSaveClassifier, loadDataset, saveClassifier } from '../../node.js';
import {
  ADVERSARIAL_METHODS,
  ADVERSARIAL_METHOD_OPTIONS,
  ARCHITECTURES,
  AUGMENT_NAMES,
  OPTIMIZER_NAMES,
  SCHEDULE_NAMES,
  createClassifier,
  evaluateAccuracy,
  isArchitectureName,
  trainingMetadata,
  subset,
  train,
  type AdversarialMethod,
  type AdversarialOptions,
  type ImageDataset,
  type TrainOptions,
  type TrainProgress,
} from '../../index.js';
import { AdvkitError, invalidArgument } from '../../errors.js';
import { InvalidArgumentError } from 'commander';
import { nonNegativeInt, numberInRange, oneOf, parseNumber, positiveInt } from '../parse-options.js';
import { createProgressLine } from '../progress.js';
import type { CliIo } from '../main.js';

interface TrainCliOptions {
  data: string;
  dataDir?: string;
  arch: string;
  out: string;
  classes?: string;
  n?: number;
  evalSplit: 'test' | 'none';
  epochs: number;
  batchSize: number;
  optimizer: TrainOptions['optimizer'];
  lr: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  weightDecayMode?: 'coupled' | 'decoupled';
  schedule?: TrainOptions['schedule'];
  stepSize?: number;
  gamma?: number;
  milestones?: string;
  warmupEpochs?: number;
  minLr?: number;
  pctStart?: number;
  anneal?: 'cos' | 'linear';
  beta1?: number;
  beta2?: number;
  labelSmoothing?: number;
  augment?: TrainOptions['augment'];
  accumulate?: number;
  seed: number;
  checkpointDir?: string;
  checkpointEvery?: number;
  resume?: boolean;
  hidden?: string;
  batchNorm?: boolean;
  dropout?: number;
  depth?: number;
  widen?: number;
  mean?: string;
  std?: string;
  backend?: string;
  json?: boolean;
  adversarial?: AdversarialMethod;
  eps?: number;
  norm?: 'linf' | 'l2';
  attackSteps?: number;
  attackStepSize?: number;
  randomStart?: boolean;
  replays?: number;
  beta?: number;
  epsWarmup?: number;
  cleanWeight?: number;
  guard: boolean;
  guardBatch?: number;
  guardSteps?: number;
}

/** The adversarial flags, the AdversarialOptions key each sets, and (for the method check) which key that is. */
const ADVERSARIAL_FLAGS: readonly {
  flag: string;
  cli: keyof TrainCliOptions;
  key: keyof AdversarialOptions;
}[] = [
  { flag: '--eps', cli: 'eps', key: 'eps' },
  { flag: '--norm', cli: 'norm', key: 'norm' },
  { flag: '--attack-steps', cli: 'attackSteps', key: 'steps' },
  { flag: '--attack-step-size', cli: 'attackStepSize', key: 'stepSize' },
  { flag: '--random-start', cli: 'randomStart', key: 'randomStart' },
  { flag: '--replays', cli: 'replays', key: 'replays' },
  { flag: '--beta', cli: 'beta', key: 'beta' },
  { flag: '--eps-warmup', cli: 'epsWarmup', key: 'epsWarmup' },
  { flag: '--clean-weight', cli: 'cleanWeight', key: 'cleanWeight' },
  { flag: '--guard-batch', cli: 'guardBatch', key: 'guard' },
  { flag: '--guard-steps', cli: 'guardSteps', key: 'guard' },
];

function positiveNumber(name: string) {
  return (value: string): number => {
    const n = parseNumber(value);
    if (!(n > 0))
      throw new InvalidArgumentError(
        `${name} must be a positive number (e.g. 0.3 or 8/255), got '${value}'.`,
      );
    return n;
  };
}

function parseBoolean(name: string) {
  return (value: string): boolean => {
    if (value === 'true' || value === 'false') return value === 'true';
    throw new InvalidArgumentError(`${name} must be true or false, got '${value}'.`);
  };
}

function fraction(name: string) {
  return (value: string): number => {
    const n = parseNumber(value);
    if (!(n >= 0 && n < 1)) throw new InvalidArgumentError(`${name} must be >= 0 and < 1, got '${value}'.`);
    return n;
  };
}

export function registerTrainCommand(program: Command, io: CliIo): void {
  program
    .command('train')
    .description(
      'Train a classifier from a built-in architecture on a dataset and save it with its metadata. ' +
        'Checkpoints are written atomically; after a kill, the same command with --resume continues to the ' +
        'same weights as an uninterrupted run.',
    )
    .requiredOption('--data <name>', 'dataset: mnist, fashion-mnist, cifar10, or an image folder')
    .requiredOption('--arch <name>', `architecture: ${ARCHITECTURES.join(', ')}`)
    .requiredOption('--out <dir>', 'where to write the trained model')
    .option('--data-dir <dir>', 'where dataset files are (default: $ADVKIT_DATA, then the user cache)')
    .option(
      '--classes <list>',
      'train on these classes only (names or indices, comma-separated), relabelled 0..k-1',
    )
    .option('--n <count>', 'train on a seeded random subset of this many images', positiveInt('--n'))
    .option(
      '--eval-split <split>',
      'evaluate after each epoch on: test or none',
      oneOf('--eval-split', ['test', 'none'] as const),
      'test',
    )
    .option('--epochs <n>', 'epochs', positiveInt('--epochs'), 3)
    .option(
      '--batch-size <n>',
      'images per step (per micro-batch with --accumulate)',
      positiveInt('--batch-size'),
      128,
    )
    .option(
      '--optimizer <name>',
      `optimizer: ${OPTIMIZER_NAMES.join(', ')}`,
      oneOf('--optimizer', OPTIMIZER_NAMES),
      'adam',
    )
    .option(
      '--lr <rate>',
      'learning rate (peak rate for onecycle)',
      numberInRange('--lr', 0, 100, { exclusiveMin: true }),
      1e-3,
    )
    .option('--momentum <m>', 'SGD momentum (default 0.9)', numberInRange('--momentum', 0, 1))
    .option('--nesterov', 'SGD with Nesterov momentum')
    .option('--weight-decay <wd>', 'weight decay (default 0)', numberInRange('--weight-decay', 0, 1))
    .option(
      '--weight-decay-mode <mode>',
      'coupled (L2 in the gradient) or decoupled (SGDW/AdamW)',
      oneOf('--weight-decay-mode', ['coupled', 'decoupled'] as const),
    )
    .option(
      '--schedule <name>',
      `learning-rate schedule: ${SCHEDULE_NAMES.join(', ')}`,
      oneOf('--schedule', SCHEDULE_NAMES),
    )
    .option('--step-size <epochs>', "'step' schedule: decay every this many epochs", parseNumber)
    .option(
      '--gamma <factor>',
      "'step' schedule: decay factor (default 0.1)",
      numberInRange('--gamma', 0, 1, { exclusiveMin: true }),
    )
    .option('--milestones <epochs>', "'step' schedule: comma-separated epochs at which to decay")
    .option(
      '--warmup-epochs <epochs>',
      "'cosine' schedule: linear warm-up length",
      numberInRange('--warmup-epochs', 0, 1e6),
    )
    .option(
      '--min-lr <rate>',
      "'cosine' schedule: final learning rate (default 0)",
      numberInRange('--min-lr', 0, 1e6),
    )
    .option(
      '--pct-start <fraction>',
      "'onecycle' schedule: fraction of the run spent rising (default 0.3)",
      numberInRange('--pct-start', 0, 1, { exclusiveMin: true }),
    )
    .option(
      '--anneal <shape>',
      "'onecycle' schedule: cos or linear (default cos)",
      oneOf('--anneal', ['cos', 'linear'] as const),
    )
    .option('--beta1 <b>', 'adam: first-moment decay (default 0.9)', numberInRange('--beta1', 0, 0.999999))
    .option('--beta2 <b>', 'adam: second-moment decay (default 0.999)', numberInRange('--beta2', 0, 0.999999))
    .option(
      '--label-smoothing <eps>',
      'label smoothing in [0, 1)',
      numberInRange('--label-smoothing', 0, 0.999),
    )
    .option(
      '--augment <name>',
      `data augmentation: ${AUGMENT_NAMES.join(', ')}`,
      oneOf('--augment', AUGMENT_NAMES),
    )
    .option(
      '--accumulate <k>',
      'accumulate gradients over k micro-batches per step',
      positiveInt('--accumulate'),
    )
    .option(
      '--seed <seed>',
      'seed for initialization, data order and augmentation',
      nonNegativeInt('--seed'),
      0,
    )
    .option('--checkpoint-dir <dir>', 'checkpoint directory (default: <out>.checkpoint)')
    .option(
      '--checkpoint-every <steps>',
      'also checkpoint every N steps (default: each epoch end)',
      nonNegativeInt('--checkpoint-every'),
    )
    .option('--resume', 'continue from the checkpoint of an interrupted run with the same options')
    .option('--hidden <sizes>', "'mlp': hidden layer sizes, comma-separated (default 256,256)")
    .option('--batch-norm', "'cifar-cnn': batch normalization after each convolution")
    .option('--dropout <rate>', "'cifar-cnn': dropout rate", numberInRange('--dropout', 0, 0.99))
    .option('--depth <n>', "'wide-resnet': depth (6n+4)", positiveInt('--depth'))
    .option('--widen <k>', "'wide-resnet': widen factor", positiveInt('--widen'))
    .option('--mean <values>', 'per-channel mean subtracted inside the model (comma-separated, [0,1] scale)')
    .option('--std <values>', 'per-channel std divided inside the model (comma-separated, [0,1] scale)')
    .option('--backend <name>', 'compute backend: wasm, cpu, tensorflow (default: best available)')
    .option('--json', 'print the result as JSON')
    .option(
      '--adversarial <method>',
      'adversarial training: pgd (Madry et al. 2018), fgsm-rs (Wong et al. 2020), free (Shafahi et al. 2019), ' +
        'trades (Zhang et al. 2019)',
      oneOf('--adversarial', ADVERSARIAL_METHODS),
    )
    .option(
      '--eps <budget>',
      'adversarial: the budget in input units, e.g. 0.3 or 8/255',
      positiveNumber('--eps'),
    )
    .option(
      '--norm <norm>',
      'adversarial: linf (default) or l2 (pgd, trades)',
      oneOf('--norm', ['linf', 'l2'] as const),
    )
    .option(
      '--attack-steps <n>',
      'pgd, trades: steps of the inner maximisation (default 10)',
      positiveInt('--attack-steps'),
    )
    .option(
      '--attack-step-size <size>',
      'inner step size at the full eps (defaults: pgd 2.5*eps/steps, fgsm-rs 1.25*eps, free eps, trades eps/4)',
      positiveNumber('--attack-step-size'),
    )
    .option(
      '--random-start <true|false>',
      'pgd, fgsm-rs: start from a random point of the ball (default true)',
      parseBoolean('--random-start'),
    )
    .option('--replays <m>', 'free: replays of each batch (default 8)', positiveInt('--replays'))
    .option('--beta <beta>', 'trades: weight of the KL term (default 6)', numberInRange('--beta', 0, 1e6))
    .option(
      '--eps-warmup <epochs>',
      'adversarial: epochs over which eps rises linearly from 0 (default 0)',
      numberInRange('--eps-warmup', 0, 1e6),
    )
    .option(
      '--clean-weight <w>',
      'pgd, fgsm-rs, free: train on w*CE(clean) + (1-w)*CE(adversarial) (default 0)',
      fraction('--clean-weight'),
    )
    .option('--no-guard', 'fgsm-rs: turn off the catastrophic-overfitting guard (PGD check each epoch)')
    .option(
      '--guard-batch <n>',
      'fgsm-rs guard: images in its PGD check (default 256)',
      positiveInt('--guard-batch'),
    )
    .option('--guard-steps <n>', 'fgsm-rs guard: PGD steps (default 10)', positiveInt('--guard-steps'))
    .action(async (opts: TrainCliOptions) => {
      if (!isArchitectureName(opts.arch)) {
        throw invalidArgument(
          `Unknown architecture '${opts.arch}'. Expected one of: ${ARCHITECTURES.join(', ')}.`,
        );
      }
      const trainOptions = toTrainOptions(opts);
      const architectureOptions = toArchitectureOptions(opts);
      const checkpointDir = path.resolve(opts.checkpointDir ?? `${opts.out}.checkpoint`);
      if (opts.resume && !existsSync(checkpointDir)) {
        throw new AdvkitError(
          'NOT_FOUND',
          `--resume: no checkpoint directory at ${checkpointDir}. Run without --resume to start.`,
        );
      }
      await assertCanSaveClassifier(opts.out); // fail now, not after hours of training
      const backend = await initNodeBackend({ backend: opts.backend });

      const trainData = selectData(
        await loadDataset(opts.data, { split: 'train', dir: opts.dataDir }),
        opts,
        true,
      );
      const evalData =
        opts.evalSplit === 'none'
          ? undefined
          : selectData(await loadDataset(opts.data, { split: 'test', dir: opts.dataDir }), opts, false);
      for (const note of [...(trainData.notes ?? []), ...(evalData?.notes ?? [])])
        io.stderr(`note: ${note}\n`);

      const classifier = createClassifier(opts.arch, {
        inputShape: [trainData.height, trainData.width, trainData.channels],
        classNames: trainData.classNames,
        seed: opts.seed,
        dataset: opts.data,
        preprocessing: toPreprocessing(opts),
        ...architectureOptions,
      });
      const abort = new AbortController();
      const onSigint = (): void => abort.abort();
      process.once('SIGINT', onSigint);
      const progress = createProgressLine(
        trainOptions.adversarial === undefined
          ? 'epoch {epoch} [{bar}] {value}/{total} | loss {loss} | acc {acc} | {ips} img/s | lr {lr}'
          : 'epoch {epoch} [{bar}] {value}/{total} | loss {loss} | clean {clean} | adv {adv} | eps {eps} | {ips} img/s | lr {lr}',
        io.stderr,
      );
      try {
        io.stderr(
          `training ${opts.arch} on ${trainData.name} (${trainData.count} images, backend ${backend})` +
            `${describeAdversarial(trainOptions.adversarial)}; checkpoints in ${checkpointDir}\n`,
        );
        const result = await train(classifier, trainData, trainOptions, {
          onProgress: (p) => reportProgress(progress, p),
          signal: abort.signal,
          checkpoint: new FileCheckpointStore(checkpointDir),
          resume: opts.resume ?? false,
          eval: evalData,
        });
        progress.stop();
        if (result.guard?.restored) {
          const g = result.guard;
          io.stderr(
            `restored the weights of epoch ${g.bestEpoch + 1} (best PGD accuracy on the guard batch, ${pct(g.bestRobustAccuracy)})\n`,
          );
        }
        if (!result.completed) {
          io.stderr(`stopped at step ${result.steps}; run the same command with --resume to continue.\n`);
          const err = new Error('interrupted');
          err.name = 'AbortError';
          throw err;
        }
        const testAccuracy = evalData ? await evaluateAccuracy(classifier, evalData) : undefined;
        const recorded = trainingMetadata(result, trainData, {
          backend,
          ...(testAccuracy !== undefined && evalData
            ? { test: { accuracy: testAccuracy, count: evalData.count } }
            : {}),
        });
        const metrics = recorded.metrics ?? {};
        await saveClassifier(classifier, opts.out, {
          ...recorded,
          dataset: opts.data,
          training: { ...recorded.training, trainImages: trainData.count, command: reproduceCommand() },
        });
        const summary = {
          out: path.resolve(opts.out),
          backend,
          steps: result.steps,
          seconds: result.seconds,
          metrics,
          ...(result.options.adversarial !== undefined ? { adversarial: result.options.adversarial } : {}),
          ...(result.guard !== undefined ? { guard: result.guard } : {}),
        };
        if (opts.json) io.stdout(JSON.stringify(summary, null, 2) + '\n');
        else {
          io.stdout(
            `saved ${summary.out}: train ${result.options.adversarial ? 'adversarial ' : ''}accuracy ${(100 * result.accuracy).toFixed(2)}%` +
              (testAccuracy !== undefined
                ? `, test accuracy ${(100 * testAccuracy).toFixed(2)}% (${evalData?.count} images)`
                : '') +
              ` in ${result.seconds.toFixed(0)} s\n`,
          );
        }
      } finally {
        progress.stop();
        process.removeListener('SIGINT', onSigint);
        classifier.dispose();
      }
    });
}

function pct(value: number | undefined): string {
  return value === undefined || Number.isNaN(value) ? '-' : `${(100 * value).toFixed(1)}%`;
}

function describeAdversarial(adv: AdversarialOptions | undefined): string {
  if (adv === undefined) return '';
  return `, adversarial ${adv.method} ${adv.norm ?? 'linf'} eps ${Number(adv.eps.toPrecision(4))}`;
}

function reportProgress(progress: ReturnType<typeof createProgressLine>, p: TrainProgress): void {
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

function selectData(ds: ImageDataset, opts: TrainCliOptions, isTrain: boolean): ImageDataset {
  let out = ds;
  if (opts.classes !== undefined) {
    const classes = opts.classes
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c !== '');
    out = subset(out, { classes: classes.map((c) => (/^\d+$/.test(c) ? Number(c) : c)), relabel: true });
  }
  if (isTrain && opts.n !== undefined && opts.n < out.count)
    out = subset(out, { count: opts.n, seed: opts.seed });
  return out;
}

function parseList(name: string, value: string): number[] {
  const items = value.split(',').map((s) => Number(s.trim()));
  if (items.length === 0 || items.some((v) => !Number.isFinite(v))) {
    throw invalidArgument(`${name} must be a comma-separated list of numbers, got '${value}'.`);
  }
  return items;
}

function toTrainOptions(o: TrainCliOptions): TrainOptions {
  const t: TrainOptions = {
    epochs: o.epochs,
    batchSize: o.batchSize,
    optimizer: o.optimizer,
    lr: o.lr,
    seed: o.seed,
  };
  if (o.momentum !== undefined) t.momentum = o.momentum;
  if (o.nesterov) t.nesterov = true;
  if (o.weightDecay !== undefined) t.weightDecay = o.weightDecay;
  if (o.weightDecayMode !== undefined) t.weightDecayMode = o.weightDecayMode;
  if (o.schedule !== undefined) t.schedule = o.schedule;
  if (o.stepSize !== undefined) t.stepSize = o.stepSize;
  if (o.gamma !== undefined) t.gamma = o.gamma;
  if (o.milestones !== undefined) t.milestones = parseList('--milestones', o.milestones);
  if (o.warmupEpochs !== undefined) t.warmupEpochs = o.warmupEpochs;
  if (o.minLr !== undefined) t.minLr = o.minLr;
  if (o.pctStart !== undefined) t.pctStart = o.pctStart;
  if (o.anneal !== undefined) t.anneal = o.anneal;
  if (o.beta1 !== undefined) t.beta1 = o.beta1;
  if (o.beta2 !== undefined) t.beta2 = o.beta2;
  if (o.labelSmoothing !== undefined) t.labelSmoothing = o.labelSmoothing;
  if (o.augment !== undefined) t.augment = o.augment;
  if (o.accumulate !== undefined) t.accumulate = o.accumulate;
  if (o.checkpointEvery !== undefined) t.checkpointEvery = o.checkpointEvery;
  const adversarial = toAdversarialOptions(o);
  if (adversarial !== undefined) t.adversarial = adversarial;
  return t;
}

/** The adversarial flags as AdversarialOptions; flags that the chosen method does not take are refused. */
function toAdversarialOptions(o: TrainCliOptions): AdversarialOptions | undefined {
  const given = ADVERSARIAL_FLAGS.filter((f) => o[f.cli] !== undefined);
  if (!o.guard) given.push({ flag: '--no-guard', cli: 'guard', key: 'guard' });
  const method = o.adversarial;
  if (method === undefined) {
    if (given.length > 0) {
      throw invalidArgument(
        `${given.map((f) => f.flag).join(', ')} ${given.length === 1 ? 'applies' : 'apply'} only to adversarial training: add --adversarial ${ADVERSARIAL_METHODS.join('|')}.`,
      );
    }
    return undefined;
  }
  if (o.eps === undefined) {
    throw invalidArgument(
      `--adversarial ${method} needs --eps, the budget in input units (e.g. 0.3, or 8/255).`,
    );
  }
  const shared: readonly (keyof AdversarialOptions)[] = ['eps', 'norm', 'epsWarmup'];
  for (const f of given) {
    if (!shared.includes(f.key) && !ADVERSARIAL_METHOD_OPTIONS[method].includes(f.key)) {
      const takers = ADVERSARIAL_METHODS.filter((m) => ADVERSARIAL_METHOD_OPTIONS[m].includes(f.key));
      throw invalidArgument(`${f.flag} applies to --adversarial ${takers.join(' or ')}, not ${method}.`);
    }
  }
  const a: AdversarialOptions = { method, eps: o.eps };
  if (o.norm !== undefined) a.norm = o.norm;
  if (o.attackSteps !== undefined) a.steps = o.attackSteps;
  if (o.attackStepSize !== undefined) a.stepSize = o.attackStepSize;
  if (o.randomStart !== undefined) a.randomStart = o.randomStart;
  if (o.replays !== undefined) a.replays = o.replays;
  if (o.beta !== undefined) a.beta = o.beta;
  if (o.epsWarmup !== undefined) a.epsWarmup = o.epsWarmup;
  if (o.cleanWeight !== undefined) a.cleanWeight = o.cleanWeight;
  if (!o.guard) a.guard = false;
  else if (o.guardBatch !== undefined || o.guardSteps !== undefined) {
    a.guard = {
      ...(o.guardBatch !== undefined ? { batchSize: o.guardBatch } : {}),
      ...(o.guardSteps !== undefined ? { steps: o.guardSteps } : {}),
    };
  }
  return a;
}

function toArchitectureOptions(o: TrainCliOptions): Record<string, unknown> {
  const a: Record<string, unknown> = {};
  if (o.hidden !== undefined) a.hiddenSizes = parseList('--hidden', o.hidden);
  if (o.batchNorm) a.batchNorm = true;
  if (o.dropout !== undefined) a.dropout = o.dropout;
  if (o.depth !== undefined) a.depth = o.depth;
  if (o.widen !== undefined) a.widenFactor = o.widen;
  return a;
}

function toPreprocessing(o: TrainCliOptions): { mean?: number[]; std?: number[] } {
  const p: { mean?: number[]; std?: number[] } = {};
  if (o.mean !== undefined) p.mean = parseList('--mean', o.mean);
  if (o.std !== undefined) p.std = parseList('--std', o.std);
  return p;
}

/** The command line that reproduces this model (recorded in its metadata). */
function reproduceCommand(): string {
  return ['advkit', ...process.argv.slice(2).filter((a) => a !== '--resume')].join(' ');
}
