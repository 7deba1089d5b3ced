import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ImageDataset } from '../data/dataset.js';
import { loadDataset } from '../data/node/load-dataset.js';
import { subset } from '../data/subset.js';
import { AdvkitError, invalidArgument } from '../errors.js';
import { ARCHITECTURES, isArchitectureName } from '../models/architectures/index.js';
import { createClassifier } from '../models/create-classifier.js';
import { assertCanSaveClassifier, saveClassifier, WEIGHTS_FILE } from '../models/node/save-classifier.js';
import { METADATA_FILE } from '../models/metadata.js';
import {
  ADVERSARIAL_METHODS,
  ADVERSARIAL_METHOD_OPTIONS,
  type AdversarialOptions,
  type ResolvedAdversarialOptions,
} from '../train/adversarial/options.js';
import type { GuardReport } from '../train/adversarial/guard.js';
import { evaluateAccuracy } from '../train/evaluate.js';
import { decodeCheckpoint } from '../train/checkpoint.js';
import { FileCheckpointStore } from '../train/node/file-checkpoint-store.js';
import { resolveTrainOptions, type TrainOptions } from '../train/options.js';
import { train, type TrainProgress } from '../train/train.js';
import { trainingMetadata } from '../train/training-metadata.js';
import { parseSpec } from './spec.js';
import type { Task, TaskContext, TaskInput, TaskOutput, TaskResult } from './task.js';
import { trainSchema, type TrainSpec } from './train-spec.js';
import { engineName } from '../backend/backend.js';

/** Sent once the data is loaded, before the first step: what is about to be trained, and where. */
export interface TrainStart {
  phase: 'start';
  arch: string;
  data: string;
  images: number;
  backend: string;
  adversarial?: { method: string; norm: string; eps: number };
  checkpointDir?: string;
}

export type TrainTaskProgress = TrainStart | TrainProgress;

/**
 * Where the train task writes. The model is saved by the task, into `out`, rather than returned as artifacts:
 * saveClassifier swaps the whole directory in atomically (never a model.json beside another run's weights) and
 * refuses to replace a folder that holds no model, and the checkpoints beside it are files too: a checkpoint
 * store must outlive the process for resume to continue to the same weights. `stateDir` is the checkpoint
 * directory (none: no checkpoints, no resume); the last checkpoint stays after the run, so resuming a finished
 * run saves the same model again.
 */
export interface TrainContext extends TaskContext<TrainTaskProgress> {
  /** The directory to save the trained model in (required). */
  out?: string;
  /** Continue the interrupted run whose checkpoint is in stateDir (same spec and data). */
  resume?: boolean;
  /**
   * Discard a checkpoint found in stateDir and start afresh. Without resume or restart, the checkpoint of a run
   * that did not finish is refused (never overwritten silently); a finished run's is replaced.
   */
  restart?: boolean;
  /** The command that reproduces the model, recorded in its advkit.json. */
  command?: string;
}

export interface TrainTaskResult extends TaskResult {
  task: 'train';
  schemaVersion: 1;
  /** The model directory (absolute) and the files saved in it. */
  out: string;
  files: string[];
  arch: string;
  backend: string;
  data: { name: string; split: string; count: number };
  /** The per-epoch evaluation data; `sample` when it is the bundled sample rather than the full split. */
  eval?: { name: string; split: string; count: number; sample?: { count: number; fullCount: number } };
  steps: number;
  epochs: number;
  seconds: number;
  resumedFromStep?: number;
  /** Training accuracy of the epoch the weights come from (on adversarial examples when adversarial). */
  accuracy: number;
  testAccuracy?: number;
  /** As recorded in advkit.json. */
  metrics: Record<string, number>;
  adversarial?: ResolvedAdversarialOptions;
  guard?: GuardReport;
  notes: string[];
}

/** The spec's adversarial keys and the AdversarialOptions key each sets (for the method check). */
const ADVERSARIAL_KEYS: readonly { key: keyof TrainSpec; option: keyof AdversarialOptions }[] = [
  { key: 'eps', option: 'eps' },
  { key: 'norm', option: 'norm' },
  { key: 'attackSteps', option: 'steps' },
  { key: 'attackStepSize', option: 'stepSize' },
  { key: 'randomStart', option: 'randomStart' },
  { key: 'replays', option: 'replays' },
  { key: 'beta', option: 'beta' },
  { key: 'epsWarmup', option: 'epsWarmup' },
  { key: 'cleanWeight', option: 'cleanWeight' },
  { key: 'guardBatch', option: 'guard' },
  { key: 'guardSteps', option: 'guard' },
];

/** A Task whose run also takes TrainContext's options (where to save, whether to resume). */
export interface TrainTask extends Task<typeof trainSchema, TrainTaskResult, TrainTaskProgress> {
  run(spec: TaskInput<typeof trainSchema>, ctx?: TrainContext): Promise<TaskOutput<TrainTaskResult>>;
}

export const trainTask: TrainTask = {
  name: 'train',
  title: 'Train a classifier from a built-in architecture on a dataset and save it with its metadata',
  schema: trainSchema,
  async run(input, ctx: TrainContext = {}) {
    const spec = parseSpec(trainSchema, input, 'train');
    if (!isArchitectureName(spec.arch)) {
      throw invalidArgument(
        `Unknown architecture '${spec.arch}'. Expected one of: ${ARCHITECTURES.join(', ')}.`,
        {
          option: 'arch',
        },
      );
    }
    const arch = spec.arch;
    if (ctx.out === undefined) {
      throw invalidArgument('train: the run needs `out`, the directory to save the trained model in.');
    }
    const out = path.resolve(ctx.out);
    const options = toTrainOptions(spec);
    resolveTrainOptions(options); // every option checked before the data is read
    const store = await checkpointStore(ctx);
    await assertCanSaveClassifier(out); // fail now, not after hours of training

    const notes: string[] = [];
    const note = (text: string): void => {
      notes.push(text);
      ctx.onNote?.(text);
    };
    const trainData = selectData(
      await loadDataset(spec.data, { split: 'train', dir: spec.dataDir }),
      spec,
      true,
    );
    const evalData =
      spec.evalSplit === 'none'
        ? undefined
        : selectData(await loadDataset(spec.data, { split: 'test', dir: spec.dataDir }), spec, false);
    for (const text of [...(trainData.notes ?? []), ...(evalData?.notes ?? [])]) note(text);
    if (evalData?.sample !== undefined) {
      note(
        `test accuracy is measured on the bundled sample (${evalData.sample.description}), not the full split`,
      );
    }

    const backend = engineName();
    const classifier = createClassifier(arch, {
      inputShape: [trainData.height, trainData.width, trainData.channels],
      classNames: trainData.classNames,
      seed: spec.seed,
      dataset: spec.data,
      preprocessing: toPreprocessing(spec),
      ...toArchitectureOptions(spec),
    });
    try {
      const adv = options.adversarial;
      ctx.onProgress?.({
        phase: 'start',
        arch: spec.arch,
        data: trainData.name,
        images: trainData.count,
        backend,
        ...(adv !== undefined
          ? { adversarial: { method: adv.method, norm: adv.norm ?? 'linf', eps: adv.eps } }
          : {}),
        ...(store !== undefined ? { checkpointDir: store.dir } : {}),
      });
      // A fresh run never leaves an older checkpoint behind for a later resume to pick up.
      if (ctx.resume !== true && store !== undefined) await rm(store.location, { force: true });
      const result = await train(classifier, trainData, options, {
        onProgress: (p) => ctx.onProgress?.(p),
        signal: ctx.signal,
        checkpoint: store,
        resume: ctx.resume === true,
        eval: evalData,
      });
      if (!result.completed) {
        throw new AdvkitError('ABORTED', 'interrupted', {
          step: result.steps,
          ...(store !== undefined ? { checkpoint: store.location } : {}),
        });
      }
      const testAccuracy = evalData ? await evaluateAccuracy(classifier, evalData) : undefined;
      const recorded = trainingMetadata(result, trainData, {
        backend,
        ...(testAccuracy !== undefined && evalData
          ? { test: { accuracy: testAccuracy, count: evalData.count } }
          : {}),
      });
      await saveClassifier(classifier, out, {
        ...recorded,
        dataset: spec.data,
        training: {
          ...recorded.training,
          trainImages: trainData.count,
          ...(ctx.command !== undefined ? { command: ctx.command } : {}),
        },
      });
      return {
        result: {
          task: 'train',
          schemaVersion: 1,
          out,
          files: ['model.json', WEIGHTS_FILE, METADATA_FILE],
          arch: spec.arch,
          backend,
          data: { name: trainData.name, split: trainData.split, count: trainData.count },
          ...(evalData !== undefined ? { eval: evalInfo(evalData) } : {}),
          steps: result.steps,
          epochs: result.epochs,
          seconds: result.seconds,
          ...(result.resumedFromStep !== undefined ? { resumedFromStep: result.resumedFromStep } : {}),
          accuracy: result.accuracy,
          ...(testAccuracy !== undefined ? { testAccuracy } : {}),
          metrics: recorded.metrics ?? {},
          ...(result.options.adversarial !== undefined ? { adversarial: result.options.adversarial } : {}),
          ...(result.guard !== undefined ? { guard: result.guard } : {}),
          notes,
        },
        artifacts: [],
      };
    } finally {
      classifier.dispose();
    }
  },
};

/**
 * The checkpoint store in stateDir, after the checks that keep a run from being lost: a checkpoint found
 * there is continued ('resume') or discarded ('restart') only when asked, never overwritten silently.
 */
async function checkpointStore(ctx: TrainContext): Promise<FileCheckpointStore | undefined> {
  if (ctx.resume === true && ctx.restart === true) {
    throw invalidArgument(`'resume' and 'restart' exclude each other: continue the run or start afresh.`, {
      option: 'restart',
    });
  }
  if (ctx.stateDir === undefined) {
    if (ctx.resume === true) {
      throw invalidArgument(`'resume' needs the checkpoint directory of the run to continue.`, {
        option: 'resume',
      });
    }
    return undefined;
  }
  const store = new FileCheckpointStore(path.resolve(ctx.stateDir));
  const found = existsSync(store.location);
  if (ctx.resume === true && !found) {
    throw new AdvkitError(
      'NOT_FOUND',
      `'resume': no checkpoint at ${store.location}. Run without 'resume' to start.`,
      {
        option: 'resume',
        file: store.location,
      },
    );
  }
  if (found && ctx.resume !== true && ctx.restart !== true && !(await finished(store))) {
    throw invalidArgument(
      `${store.dir} holds the checkpoint of a run that did not finish: add 'resume' to continue it, or 'restart' to discard it and start afresh.`,
      { option: 'resume', checkpoint: store.location },
    );
  }
  return store;
}

/** Whether the checkpoint is of a run that ended (its model was saved); one that cannot be read did not. */
async function finished(store: FileCheckpointStore): Promise<boolean> {
  try {
    const ckpt = decodeCheckpoint(new Uint8Array(await readFile(store.location)), store.location);
    return ckpt.epoch >= ckpt.options.epochs;
  } catch {
    return false;
  }
}

function evalInfo(ds: ImageDataset): NonNullable<TrainTaskResult['eval']> {
  return {
    name: ds.name,
    split: ds.split,
    count: ds.count,
    ...(ds.sample !== undefined
      ? { sample: { count: ds.sample.count, fullCount: ds.sample.fullCount } }
      : {}),
  };
}

function selectData(ds: ImageDataset, spec: TrainSpec, isTrain: boolean): ImageDataset {
  let out = ds;
  if (spec.classes !== undefined) out = subset(out, { classes: classList(spec.classes), relabel: true });
  if (isTrain && spec.n !== undefined && spec.n < out.count)
    out = subset(out, { count: spec.n, seed: spec.seed });
  return out;
}

/** '3,5' or ['cat', 5]: names, and indices written as digits. */
function classList(value: string | readonly (string | number)[]): (string | number)[] {
  const items =
    typeof value === 'string'
      ? value
          .split(',')
          .map((c) => c.trim())
          .filter((c) => c !== '')
      : value;
  return items.map((c) => (typeof c === 'string' && /^\d+$/.test(c) ? Number(c) : c));
}

function numberList(key: keyof TrainSpec, value: string | readonly number[]): number[] {
  if (typeof value !== 'string') return [...value];
  const items = value.split(',').map((s) => Number(s.trim()));
  if (items.some((v) => !Number.isFinite(v))) {
    throw invalidArgument(`'${key}' must be a comma-separated list of numbers, got '${value}'.`, {
      option: key,
    });
  }
  return items;
}

function toTrainOptions(s: TrainSpec): TrainOptions {
  const t: TrainOptions = {
    epochs: s.epochs,
    batchSize: s.batchSize,
    optimizer: s.optimizer,
    lr: s.lr,
    seed: s.seed,
  };
  if (s.momentum !== undefined) t.momentum = s.momentum;
  if (s.nesterov) t.nesterov = true;
  if (s.weightDecay !== undefined) t.weightDecay = s.weightDecay;
  if (s.weightDecayMode !== undefined) t.weightDecayMode = s.weightDecayMode;
  if (s.schedule !== undefined) t.schedule = s.schedule;
  if (s.stepSize !== undefined) t.stepSize = s.stepSize;
  if (s.gamma !== undefined) t.gamma = s.gamma;
  if (s.milestones !== undefined) t.milestones = numberList('milestones', s.milestones);
  if (s.warmupEpochs !== undefined) t.warmupEpochs = s.warmupEpochs;
  if (s.minLr !== undefined) t.minLr = s.minLr;
  if (s.pctStart !== undefined) t.pctStart = s.pctStart;
  if (s.anneal !== undefined) t.anneal = s.anneal;
  if (s.beta1 !== undefined) t.beta1 = s.beta1;
  if (s.beta2 !== undefined) t.beta2 = s.beta2;
  if (s.labelSmoothing !== undefined) t.labelSmoothing = s.labelSmoothing;
  if (s.augment !== undefined) t.augment = s.augment;
  if (s.noiseSigma !== undefined) t.noiseSigma = s.noiseSigma;
  if (s.accumulate !== undefined) t.accumulate = s.accumulate;
  if (s.checkpointEvery !== undefined) t.checkpointEvery = s.checkpointEvery;
  const adversarial = toAdversarialOptions(s);
  if (adversarial !== undefined) t.adversarial = adversarial;
  return t;
}

/**
 * The adversarial options; options that the chosen method does not take are refused (a mistyped combination
 * is never silently ignored), naming the spec keys so that a surface can name its own fields.
 */
function toAdversarialOptions(s: TrainSpec): AdversarialOptions | undefined {
  const given = ADVERSARIAL_KEYS.filter((a) => s[a.key] !== undefined);
  if (!s.guard) given.push({ key: 'guard', option: 'guard' });
  const method = s.adversarial;
  if (method === undefined) {
    if (given.length > 0) {
      throw invalidArgument(
        `${given.map((a) => `'${a.key}'`).join(', ')} ${given.length === 1 ? 'applies' : 'apply'} only to adversarial training: add 'adversarial' ${ADVERSARIAL_METHODS.join('|')}.`,
        { option: given[0].key },
      );
    }
    return undefined;
  }
  if (s.eps === undefined) {
    throw invalidArgument(
      `'adversarial' ${method} needs 'eps', the budget in input units (e.g. 0.3, or 8/255).`,
      { option: 'eps' },
    );
  }
  const shared: readonly (keyof AdversarialOptions)[] = ['eps', 'norm', 'epsWarmup'];
  for (const a of given) {
    if (!shared.includes(a.option) && !ADVERSARIAL_METHOD_OPTIONS[method].includes(a.option)) {
      const takers = ADVERSARIAL_METHODS.filter((m) => ADVERSARIAL_METHOD_OPTIONS[m].includes(a.option));
      throw invalidArgument(`'${a.key}' applies to 'adversarial' ${takers.join(' or ')}, not ${method}.`, {
        option: a.key,
      });
    }
  }
  const o: AdversarialOptions = { method, eps: s.eps };
  if (s.norm !== undefined) o.norm = s.norm;
  if (s.attackSteps !== undefined) o.steps = s.attackSteps;
  if (s.attackStepSize !== undefined) o.stepSize = s.attackStepSize;
  if (s.randomStart !== undefined) o.randomStart = s.randomStart;
  if (s.replays !== undefined) o.replays = s.replays;
  if (s.beta !== undefined) o.beta = s.beta;
  if (s.epsWarmup !== undefined) o.epsWarmup = s.epsWarmup;
  if (s.cleanWeight !== undefined) o.cleanWeight = s.cleanWeight;
  if (!s.guard) o.guard = false;
  else if (s.guardBatch !== undefined || s.guardSteps !== undefined) {
    o.guard = {
      ...(s.guardBatch !== undefined ? { batchSize: s.guardBatch } : {}),
      ...(s.guardSteps !== undefined ? { steps: s.guardSteps } : {}),
    };
  }
  return o;
}

/** Only the options given are recorded: a checkpoint's architecture options must match on resume. */
function toArchitectureOptions(s: TrainSpec): Record<string, unknown> {
  const a: Record<string, unknown> = {};
  if (s.hidden !== undefined) a.hiddenSizes = numberList('hidden', s.hidden);
  if (s.batchNorm) a.batchNorm = true;
  if (s.dropout !== undefined) a.dropout = s.dropout;
  if (s.depth !== undefined) a.depth = s.depth;
  if (s.widen !== undefined) a.widenFactor = s.widen;
  return a;
}

function toPreprocessing(s: TrainSpec): { mean?: number[]; std?: number[] } {
  const p: { mean?: number[]; std?: number[] } = {};
  if (s.mean !== undefined) p.mean = numberList('mean', s.mean);
  if (s.std !== undefined) p.std = numberList('std', s.std);
  return p;
}
