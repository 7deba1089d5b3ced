import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { predictClasses } from '../attacks/predict-classes.js';
import { engineName } from '../backend/backend.js';
import { writeFileAtomic } from '../data/node/atomic-write.js';
import { loadDataset } from '../data/node/load-dataset.js';
import { subset } from '../data/subset.js';
import { imageSize, toTensors, type ImageDataset } from '../data/dataset.js';
import { AdvkitError, invalidArgument } from '../errors.js';
import { modelSha256 } from '../evaluate/fingerprint.js';
import { isArchitectureName } from '../models/architectures/index.js';
import type { Classifier } from '../models/classifier.js';
import { createClassifier } from '../models/create-classifier.js';
import {
  renderRelabelledPairs,
  type RelabelledPair,
  type RelabelledPairRow,
} from '../render/node/relabelled-pairs-png.js';
import { evaluateAccuracy } from '../train/evaluate.js';
import { FileCheckpointStore } from '../train/node/file-checkpoint-store.js';
import { FileChunkStore } from '../train/node/file-chunk-store.js';
import {
  RELABEL_RULES,
  relabelAdversarially,
  type RelabelledDataset,
  type RelabelProgress,
  type RelabelRule,
  type RelabelStats,
} from '../train/non-robust-dataset.js';
import type { TrainOptions } from '../train/options.js';
import { mixSeed } from '../util/seeded-math-random.js';
import { train, type TrainProgress } from '../train/train.js';
import { openModel } from './model-source.js';
import {
  NRF_VARIANT_DEFAULTS,
  nonRobustFeaturesSchema,
  type NonRobustFeaturesSpec,
  type NrfVariant,
} from './non-robust-features-spec.js';
import { parseSpec } from './spec.js';
import {
  jsonArtifact,
  type Task,
  type TaskContext,
  type TaskInput,
  type TaskOutput,
  type TaskResult,
} from './task.js';

/** The settings of a run: the spec with the variant's values filled in. They key the saved state. */
export interface NrfSettings {
  variant: NrfVariant;
  model: string;
  datasets: RelabelRule[];
  /** Training images used (all when the spec gave no n or more than there are). */
  n: number | 'all';
  attack: {
    method: 'pgd';
    norm: 'l2' | 'linf';
    eps: number;
    steps: number;
    stepSize: number;
    randomStart: false;
    earlyStop: boolean;
    keepFailures: boolean;
    batchSize: number;
  };
  training: TrainOptions;
  /**
   * The fresh model's initialization seed, mixed from the spec's seed: never the source's own initial weights
   * (the bundled models were initialized with seed 0), so that nothing but the data links the two models.
   */
  initSeed: number;
  chunk: number;
  seed: number;
}

/** One relabelled dataset and the fresh model trained on it. */
export interface NrfDatasetResult {
  rule: RelabelRule;
  /** 'D_det: target (y + 1) mod 10' and the like. */
  description: string;
  generation: RelabelStats;
  /** Seconds of the fresh model's training, summed over resumes, and its last-epoch accuracy on its own set. */
  trainSeconds: number;
  trainAccuracy: number;
  /** The fresh model's accuracy on the real test images, against their true labels. */
  testAccuracy: number;
  /** D_det: how often it predicts the shifted class (y + 1) mod k, the label robust features would teach. */
  testPredictsShifted?: number;
  evalSeconds: number;
}

export interface NonRobustFeaturesResult extends TaskResult {
  task: 'non-robust-features';
  schemaVersion: 1;
  settings: NrfSettings;
  /** The source model: its name (a bundled name or a directory's), its weights' sha256, its own test accuracy. */
  source: { name: string; sha256: string; architecture: string; testAccuracy: number };
  data: { name: string; classes: string[]; trainImages: number; testImages: number };
  /** 1 / number of classes. */
  chance: number;
  /** Ilyas et al.'s accuracies for the same sets (ResNet-50, CIFAR-10), for comparison. */
  paper: Partial<Record<RelabelRule, number>>;
  datasets: NrfDatasetResult[];
  backend: string;
  /** Seconds of this call: a run that continued saved state counts only what it did itself. */
  seconds: number;
  /** Relabelling, training and testing seconds of every dataset, summed over all the calls that worked on them. */
  workSeconds: number;
  command?: string;
  notes: string[];
}

export type NrfProgress =
  | { stage: 'start'; settings: NrfSettings; trainImages: number; testImages: number; backend: string }
  | ({ stage: 'generate' } & RelabelProgress)
  | { stage: 'train'; rule: RelabelRule; progress: TrainProgress }
  | { stage: 'done'; rule: RelabelRule; testAccuracy: number };

export interface NrfContext extends TaskContext<NrfProgress> {
  /** Discard the state of another run found in stateDir instead of refusing. */
  restart?: boolean;
  /** The command line that reproduces the run, recorded in the result. */
  command?: string;
}

export interface NrfTask extends Task<typeof nonRobustFeaturesSchema, NonRobustFeaturesResult, NrfProgress> {
  run(
    spec: TaskInput<typeof nonRobustFeaturesSchema>,
    ctx?: NrfContext,
  ): Promise<TaskOutput<NonRobustFeaturesResult>>;
}

/** Ilyas et al. 2019, Table 1 / the constructed-datasets release: D_rand 63.3%, D_det 43.7% (CIFAR-10). */
const PAPER: Readonly<Record<RelabelRule, number>> = { rand: 0.633, det: 0.437 };
const STATE_FILE = 'experiment.json';
const STATE_FORMAT = 'advkit-non-robust-features-state/1';
const OWN_ENTRY = /^((det|rand)-\d{5}\.chunk|train-(det|rand)|experiment\.json)$/;
const RESULT_FILE = 'non-robust-features.json';
const PAIRS_FILE = 'pairs.png';

/**
 * The non-robust-features experiment (Ilyas, Santurkar, Tsipras, Engstrom, Tran & Madry 2019, "Adversarial
 * Examples Are Not Bugs, They Are Features", section 3.2): relabel the training images by targeted attacks on a
 * standard source model (train/non-robust-dataset.ts), train a fresh model of the source's architecture from
 * scratch on that set only, and measure it on the real test images. Every step keeps its state in stateDir
 * (generation chunks, training checkpoints), so the same spec run again continues where a stopped run ended and
 * gives the result of an uninterrupted one; another spec's state is refused unless ctx.restart. Artifacts: the
 * result as JSON and a picture of training pairs.
 */
export const nonRobustFeaturesTask: NrfTask = {
  name: 'non-robust-features',
  title: 'Train on adversarially relabelled images only and test on real ones (Ilyas et al. 2019)',
  schema: nonRobustFeaturesSchema,
  async run(input, ctx: NrfContext = {}) {
    const started = performance.now();
    const spec = parseSpec(nonRobustFeaturesSchema, input, 'non-robust-features');
    const settings = resolveSettings(spec);
    const notes: string[] = [];
    const note = (text: string): void => {
      notes.push(text);
      ctx.onNote?.(text);
    };
    // What this call did with saved state is told as it happens, not kept: the result is the same either way.
    const say = (text: string): void => ctx.onNote?.(text);
    const source = await openModel(settings.model, { defaultName: settings.model, flag: "'model'" });
    const model = source.model;
    try {
      const architecture = model.metadata.architecture;
      if (!isArchitectureName(architecture)) {
        throw invalidArgument(
          `'model': the source model's architecture is '${architecture}', not a built-in one, so no fresh model of the same architecture can be trained.`,
          { option: 'model' },
        );
      }
      const { trainData, testData } = await loadData(model, spec, settings);
      for (const text of new Set([...(trainData.notes ?? []), ...(testData.notes ?? [])])) note(text);
      const sha256 = await modelSha256(model);
      const stateDir = ctx.stateDir === undefined ? undefined : path.resolve(ctx.stateDir);
      if (stateDir !== undefined) await claimState(stateDir, { settings, sha256 }, ctx.restart === true, say);
      const backend = engineName();
      ctx.onProgress?.({
        stage: 'start',
        settings,
        trainImages: trainData.count,
        testImages: testData.count,
        backend,
      });
      const sourceTestAccuracy = await evaluateAccuracy(model, testData);
      const k = model.numClasses;
      const datasets: NrfDatasetResult[] = [];
      const rows: RelabelledPairRow[] = [];
      for (const rule of settings.datasets) {
        const generated = await relabelAdversarially(
          model,
          trainData,
          {
            rule,
            norm: settings.attack.norm,
            eps: settings.attack.eps,
            steps: settings.attack.steps,
            stepSize: settings.attack.stepSize,
            earlyStop: settings.attack.earlyStop,
            keepFailures: settings.attack.keepFailures,
            chunkSize: settings.chunk,
            batchSize: settings.attack.batchSize,
            seed: settings.seed,
          },
          {
            ...(stateDir !== undefined ? { store: new FileChunkStore(stateDir) } : {}),
            sourceKey: sha256,
            signal: ctx.signal,
            onProgress: (p) => ctx.onProgress?.({ stage: 'generate', ...p }),
          },
        );
        if (generated.stats.resumedChunks > 0) {
          say(
            `${rule}: ${generated.stats.resumedChunks} of ${generated.stats.chunks} chunks read back from ${stateDir}`,
          );
        }
        if (generated.dataset.count === 0) {
          throw new AdvkitError(
            'INVALID_ARGUMENT',
            `${rule}: no image reached its target, so there is nothing to train on; raise 'eps' or 'steps', or set 'keepFailures'.`,
            { option: 'eps' },
          );
        }
        const fresh = createClassifier(architecture, {
          inputShape: [...model.inputShape],
          classNames: [...model.classNames],
          seed: settings.initSeed,
          dataset: trainData.name,
          preprocessing: model.metadata.preprocessing,
          ...(model.metadata.architectureOptions ?? {}),
        });
        try {
          const trained = await trainFresh(fresh, generated, settings, rule, stateDir, ctx);
          const t0 = performance.now();
          const { accuracy, shifted } = await testFresh(fresh, testData, k);
          datasets.push({
            rule,
            description: describeRule(rule, k),
            generation: generated.stats,
            trainSeconds: trained.seconds,
            trainAccuracy: trained.accuracy,
            testAccuracy: accuracy,
            ...(rule === 'det' ? { testPredictsShifted: shifted } : {}),
            evalSeconds: (performance.now() - t0) / 1000,
          });
          ctx.onProgress?.({ stage: 'done', rule, testAccuracy: accuracy });
        } finally {
          fresh.dispose();
        }
        rows.push(...pairRows(trainData, generated, rule, settings.datasets.length));
      }
      const result: NonRobustFeaturesResult = {
        task: 'non-robust-features',
        schemaVersion: 1,
        settings,
        source: {
          name: source.name,
          sha256,
          architecture,
          testAccuracy: sourceTestAccuracy,
        },
        data: {
          name: trainData.name,
          classes: [...model.classNames],
          trainImages: trainData.count,
          testImages: testData.count,
        },
        chance: 1 / k,
        paper: k === 10 ? Object.fromEntries(settings.datasets.map((r) => [r, PAPER[r]])) : {},
        datasets,
        backend,
        seconds: (performance.now() - started) / 1000,
        workSeconds: datasets.reduce((t, d) => t + d.generation.seconds + d.trainSeconds + d.evalSeconds, 0),
        ...(ctx.command !== undefined ? { command: ctx.command } : {}),
        notes,
      };
      const png = await renderRelabelledPairs(rows, {
        title: `Training pairs: targeted ${settings.attack.norm.toUpperCase()} PGD, eps ${settings.attack.eps}, on ${source.name}`,
        legend: 'gray: the class the image shows; red: the label the fresh model is trained with',
      });
      return {
        result,
        artifacts: [
          jsonArtifact(RESULT_FILE, result),
          { name: PAIRS_FILE, mediaType: 'image/png', bytes: new Uint8Array(png) },
        ],
      };
    } finally {
      model.dispose();
    }
  },
};

function resolveSettings(spec: NonRobustFeaturesSpec): NrfSettings {
  const v = NRF_VARIANT_DEFAULTS[spec.variant];
  return {
    variant: spec.variant,
    model: spec.model ?? v.model,
    datasets: spec.datasets === undefined ? [...v.datasets] : ruleList(spec.datasets),
    n: spec.n ?? v.n ?? 'all',
    attack: {
      method: 'pgd',
      norm: spec.norm ?? v.norm,
      eps: spec.eps ?? v.eps,
      steps: spec.steps ?? v.steps,
      stepSize: spec.stepSize ?? v.stepSize,
      randomStart: false,
      earlyStop: spec.earlyStop ?? v.earlyStop,
      keepFailures: spec.keepFailures,
      batchSize: spec.attackBatch,
    },
    training: { ...v.training, epochs: spec.epochs ?? v.training.epochs, seed: spec.seed },
    initSeed: mixSeed(spec.seed, 0x66726573),
    chunk: spec.chunk,
    seed: spec.seed,
  };
}

/** 'det,rand' or ['rand']: known names, each once. */
function ruleList(value: string | readonly string[]): RelabelRule[] {
  const items = (typeof value === 'string' ? value.split(',') : [...value])
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const rules: RelabelRule[] = [];
  for (const item of items) {
    const rule = RELABEL_RULES.find((r) => r === item);
    if (rule === undefined) {
      throw invalidArgument(`'datasets' must list ${RELABEL_RULES.join(' and/or ')}, got '${item}'.`, {
        option: 'datasets',
      });
    }
    if (!rules.includes(rule)) rules.push(rule);
  }
  if (rules.length === 0) {
    throw invalidArgument(`'datasets' is empty; give det, rand or det,rand.`, { option: 'datasets' });
  }
  return rules;
}

function describeRule(rule: RelabelRule, k: number): string {
  if (rule === 'det')
    return k === 2 ? 'each image labelled with the other class' : `D_det: target (y + 1) mod ${k}`;
  return `D_rand: target uniform among the ${k} classes`;
}

/** The training and test images of the model's classes, in its class order; a seeded subset of n for training. */
async function loadData(
  model: Classifier,
  spec: NonRobustFeaturesSpec,
  settings: NrfSettings,
): Promise<{ trainData: ImageDataset; testData: ImageDataset }> {
  const name = model.metadata.dataset ?? 'cifar10';
  const narrow = (ds: ImageDataset): ImageDataset => {
    const same =
      ds.classNames.length === model.classNames.length &&
      ds.classNames.every((c, i) => c === model.classNames[i]);
    if (same) return ds;
    const missing = model.classNames.filter((c) => !ds.classNames.includes(c));
    if (missing.length > 0) {
      throw invalidArgument(
        `'model': its classes ${missing.join(', ')} are not classes of '${name}' (${ds.classNames.join(', ')}).`,
        { option: 'model' },
      );
    }
    return subset(ds, { classes: [...model.classNames], relabel: true });
  };
  let trainData = narrow(await loadDataset(name, { split: 'train', dir: spec.dataDir }));
  const testData = narrow(await loadDataset(name, { split: 'test', dir: spec.dataDir }));
  if (settings.n !== 'all' && settings.n < trainData.count) {
    trainData = subset(trainData, { count: settings.n, seed: settings.seed });
  }
  return { trainData, testData };
}

/** JSON with object keys sorted, so that equal settings compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/** The differences between two flat-or-nested settings objects, as 'attack.eps was 0.5, now 1'. */
function differences(before: unknown, now: unknown, prefix = ''): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(before) && isObject(now)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(now)])].sort();
    return keys.flatMap((key) =>
      differences(before[key], now[key], prefix === '' ? key : `${prefix}.${key}`),
    );
  }
  return canonical(before) === canonical(now)
    ? []
    : [`${prefix} was ${canonical(before) ?? 'unset'}, now ${canonical(now) ?? 'unset'}`];
}

/** What the relabelled images depend on (the saved chunks), and what only the fresh models depend on. */
function stateParts(state: { settings: NrfSettings; sha256: string }): {
  images: unknown;
  training: unknown;
} {
  const { model, n, attack, chunk, seed, training, initSeed } = state.settings;
  return {
    images: { sha256: state.sha256, model, n, attack, chunk, seed },
    training: { training, initSeed },
  };
}

function isState(v: unknown): v is { format: string; settings: NrfSettings; sha256: string } {
  return (
    typeof v === 'object' &&
    v !== null &&
    Reflect.get(v, 'format') === STATE_FORMAT &&
    typeof Reflect.get(v, 'settings') === 'object' &&
    typeof Reflect.get(v, 'sha256') === 'string'
  );
}

/**
 * Makes stateDir this run's. A state whose relabelled images were made the same way (source weights, data,
 * attack, chunking, seed) is continued; when only the training differs (more epochs, say), the images are reused
 * and the fresh models trained again; another run's images are refused (naming what differs) unless `restart`,
 * which removes the files this task writes there and only those. Which datasets are asked for does not matter:
 * each has its own chunks.
 */
async function claimState(
  dir: string,
  identity: { settings: NrfSettings; sha256: string },
  restart: boolean,
  note: (text: string) => void,
): Promise<void> {
  const file = path.join(dir, STATE_FILE);
  const mine = { format: STATE_FORMAT, ...identity };
  const removeOwn = async (only: RegExp): Promise<void> => {
    for (const entry of await readdir(dir)) {
      if (OWN_ENTRY.test(entry) && only.test(entry)) {
        await rm(path.join(dir, entry), { recursive: true, force: true });
      }
    }
  };
  if (existsSync(file)) {
    let saved: unknown;
    try {
      saved = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      saved = null;
    }
    const now = stateParts(identity);
    const before = isState(saved) ? stateParts(saved) : undefined;
    const imageDiff = before === undefined ? [] : differences(before.images, now.images);
    if (before === undefined || imageDiff.length > 0) {
      if (!restart) {
        const diff =
          before === undefined ? `${file} is not a state this version of advkit wrote` : imageDiff.join('; ');
        throw invalidArgument(
          `${dir} holds the state of another non-robust-features run (${diff}). Run with the same options to ` +
            `continue it, give another state directory, or add 'restart' to discard it.`,
          { option: 'restart', state: dir },
        );
      }
      await removeOwn(/./);
      note(`discarded the state of another run in ${dir}`);
    } else {
      const trainingDiff = differences(before.training, now.training);
      if (trainingDiff.length > 0) {
        await removeOwn(/^train-/);
        note(
          `the training changed (${trainingDiff.join('; ')}): the relabelled images in ${dir} are reused and ` +
            'the fresh models trained again',
        );
      } else {
        note(`continuing the run whose state is in ${dir}`);
      }
    }
  }
  await writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(mine, null, 2) + '\n'));
}

/** Trains `fresh` on the relabelled set, checkpointed in stateDir/train-<rule> and resumed from it when there. */
async function trainFresh(
  fresh: Classifier,
  generated: RelabelledDataset,
  settings: NrfSettings,
  rule: RelabelRule,
  stateDir: string | undefined,
  ctx: NrfContext,
): Promise<{ seconds: number; accuracy: number }> {
  const store =
    stateDir === undefined ? undefined : new FileCheckpointStore(path.join(stateDir, `train-${rule}`));
  const resume = store !== undefined && existsSync(store.location);
  const result = await train(fresh, generated.dataset, settings.training, {
    ...(store !== undefined ? { checkpoint: store } : {}),
    resume,
    signal: ctx.signal,
    onProgress: (progress) => ctx.onProgress?.({ stage: 'train', rule, progress }),
  });
  if (!result.completed) {
    throw new AdvkitError('ABORTED', 'interrupted', {
      step: result.steps,
      ...(stateDir !== undefined ? { state: stateDir } : {}),
    });
  }
  return { seconds: result.seconds, accuracy: result.accuracy };
}

/** Accuracy on the real test images, and how often the prediction is the shifted class (y + 1) mod k. */
async function testFresh(
  fresh: Classifier,
  testData: ImageDataset,
  k: number,
): Promise<{ accuracy: number; shifted: number }> {
  const { x, y } = toTensors(testData);
  y.dispose();
  let predictions: Int32Array;
  try {
    predictions = await predictClasses(fresh, x, { batchSize: 256 });
  } finally {
    x.dispose();
  }
  let [correct, shifted] = [0, 0];
  predictions.forEach((p, i) => {
    correct += Number(p === testData.labels[i]);
    shifted += Number(p === (testData.labels[i] + 1) % k);
  });
  return { accuracy: correct / testData.count, shifted: shifted / testData.count };
}

/**
 * Rows of training pairs for the picture: with one dataset two rows of 8 (for two classes, one row per true
 * class: 'airplane -> cat' and 'cat -> airplane'); with several, one row of 8 per dataset. Kept images only.
 */
function pairRows(
  trainData: ImageDataset,
  generated: RelabelledDataset,
  rule: RelabelRule,
  datasetCount: number,
): RelabelledPairRow[] {
  const size = imageSize(trainData);
  const names = trainData.classNames;
  const pair = (j: number): RelabelledPair => {
    const i = generated.sourceIndices[j];
    return {
      image: {
        data: generated.dataset.pixels.slice(j * size, (j + 1) * size),
        height: trainData.height,
        width: trainData.width,
        channels: trainData.channels === 1 ? 1 : 3,
      },
      shows: names[trainData.labels[i]],
      label: names[generated.dataset.labels[j]],
    };
  };
  const kept = Array.from(generated.sourceIndices.keys());
  const heading = describeRule(rule, names.length);
  if (datasetCount > 1) return [{ heading, pairs: kept.slice(0, 8).map(pair) }];
  if (names.length === 2) {
    return [0, 1].map((c) => ({
      heading: `${names[c]} images, labelled ${names[1 - c]}`,
      pairs: kept
        .filter((j) => trainData.labels[generated.sourceIndices[j]] === c)
        .slice(0, 8)
        .map(pair),
    }));
  }
  return [
    { heading, pairs: kept.slice(0, 8).map(pair) },
    { heading: '', pairs: kept.slice(8, 16).map(pair) },
  ];
}
