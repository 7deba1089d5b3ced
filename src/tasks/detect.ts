import * as tf from '@tensorflow/tfjs-core';
import path from 'node:path';
import { cw } from '../attacks/cw.js';
import { fgsm } from '../attacks/fgsm.js';
import { pgd } from '../attacks/pgd.js';
import { predictClasses } from '../attacks/predict-classes.js';
import { runAttack } from '../attacks/run-attack.js';
import type { Attack } from '../attacks/types.js';
import { engineName } from '../backend/backend.js';
import { writeAtomically } from '../data/node/atomic-write.js';
import { attackWithDetector } from '../defend/detectors/adaptive-attack.js';
import { detectionRates, type DetectionRates } from '../defend/detectors/detection-rates.js';
import { detectorScores, flagRate, thresholdAtFpr, type Detector } from '../defend/detectors/detector.js';
import { defaultSqueezers, featureSqueezing, parseSqueezers } from '../defend/detectors/feature-squeezing.js';
import { AdvkitError, invalidArgument } from '../errors.js';
import { modelSha256 } from '../evaluate/fingerprint.js';
import type { Classifier } from '../models/classifier.js';
import type { TrainProgress } from '../train/train.js';
import type { Schema } from '../util/schema.js';
import { writeFileSynced } from '../util/node/write-file-synced.js';
import { defaultBudgets, parseBudgets, type Budget } from './budgets.js';
import {
  DETECT_ATTACKS,
  DETECT_DEFAULT_MODEL,
  DETECTOR_NAMES,
  detectTaskSchema,
  type DetectAttack,
  type DetectorName,
  type DetectSpec,
} from './detect-spec.js';
import { trainBinaryDetector } from './detect-train.js';
import { loadModelSample, type DataInfo } from './model-data.js';
import { claimKeyedState } from './keyed-state.js';
import { openModel } from './model-source.js';
import { parseSpec } from './spec.js';
import {
  jsonArtifact,
  type Task,
  type TaskContext,
  type TaskInput,
  type TaskOutput,
  type TaskResult,
} from './task.js';

/** One detector against one attack, at the detector's threshold. */
export interface DetectRow extends DetectionRates {
  detector: DetectorName;
  attack: DetectAttack;
  /** The Linf budget; null for C&W (unbounded L2). */
  eps: number | null;
  seconds: number;
}

/** A detector as fitted: its threshold and false-positive rates, and for a learned one, its training. */
export interface DetectorInfo {
  name: DetectorName;
  /** Feature squeezing: the squeezers; binary: the network and features. */
  description: string;
  /** Flagged when score > threshold. */
  threshold: number;
  /** On the calibration images it was fit on (at most fpr). */
  calibrationFpr: number;
  /** On the n clean test images: the false-positive rate that counts. */
  heldOutFpr: number;
  training?: {
    images: number;
    epochs: number;
    trainAccuracy: number;
    seconds: number;
    layer?: string;
    scale?: number;
  };
}

/** What the results depend on; a saved state with other values is not continued. */
export interface DetectKey {
  modelSha256: string;
  data: string;
  split: string;
  n: number;
  eps: number;
  fpr: number;
  calibration: number;
  trainImages: number;
  epochs: number;
  squeezers: string;
  layer: string;
  cwSteps: number;
  adaptiveSteps: number;
  adaptiveWeight: number | null;
  seed: number;
}

export interface DetectResult extends TaskResult {
  task: 'detect';
  schemaVersion: 1;
  model: { name: string; dir: string; sha256: string };
  data: DataInfo;
  settings: {
    eps: number;
    epsText: string;
    fpr: number;
    calibration: { split: 'train'; images: number };
    trainImages: number;
    epochs: number;
    squeezers: string;
    cwSteps: number;
    adaptiveSteps: number;
    /** The detector term's weight in the adaptive attack, per detector. */
    adaptiveWeights: Partial<Record<DetectorName, number>>;
    seed: number;
  };
  cleanAccuracy: number;
  detectors: DetectorInfo[];
  rows: DetectRow[];
  /**
   * Per detector, the worst case per image over the attacks run (as AutoAttack counts robustness): the
   * fraction of the points that some attack made misclassified and unflagged.
   */
  worstCase: { detector: DetectorName; undetectedAdversarial: number; attacks: DetectAttack[] }[];
  backend: string;
  /** Rows read back from the state directory rather than measured by this call. */
  resumed: number;
  seconds: number;
  command?: string;
  notes: string[];
}

export type DetectProgress =
  | { stage: 'start'; model: string; rows: number; resumed: number; backend: string }
  | { stage: 'attack'; attack: string; fraction: number }
  | {
      stage: 'train';
      detector: DetectorName;
      epoch: number;
      epochs: number;
      step: number;
      totalSteps: number;
    }
  | { stage: 'row'; row: DetectRow; done: number; rows: number };

export interface DetectContext extends TaskContext<DetectProgress> {
  /** Discard the state of a run with other settings found in stateDir instead of refusing. */
  restart?: boolean;
  /** The command line that reproduces the run, recorded in the result. */
  command?: string;
}

export interface DetectTask extends Task<typeof detectTaskSchema, DetectResult, DetectProgress> {
  run(spec: TaskInput<typeof detectTaskSchema>, ctx?: DetectContext): Promise<TaskOutput<DetectResult>>;
}

/**
 * How much the adaptive attack weighs the detector's column (score - threshold) against the classifier's
 * logits: feature squeezing's score is an L1 distance in [0, 2], the binary detectors' a logit margin.
 */
const ADAPTIVE_WEIGHT: Readonly<Record<DetectorName, number>> = {
  'feature-squeezing': 2,
  'binary-input': 1,
  'binary-activation': 1,
};
/** The PGD examples the binary detectors learn from (Madry et al.'s attack, fewer steps: it is training data). */
const TRAIN_PGD_STEPS = 20;
/**
 * C&W with a budget that keeps a table run in minutes: 5 rounds of the search over c from c = 0.1 (the reference
 * uses 9 rounds of 10,000 steps from 1e-3, Adam at 0.01), Adam at 0.05, `cwSteps` steps per round.
 */
const CW_SEARCH_STEPS = 5;
const CW_INITIAL_CONST = 0.1;
const CW_STEP_SIZE = 0.05;

const STATE_FILE = 'detect-state.json';
const STATE_FORMAT = 'advkit-detect-state/1';

interface SavedState {
  format: typeof STATE_FORMAT;
  key: DetectKey;
  detectors: DetectorInfo[];
  rows: DetectRow[];
}

/**
 * Detectors of adversarial inputs, evaluated as an attacker would (Carlini & Wagner 2017, "Adversarial Examples
 * Are Not Easily Detected"): feature squeezing (Xu, Evans & Qi 2018) and learned binary detectors on the inputs
 * or an activation (Metzen et al. 2017; ART's BinaryInputDetector / BinaryActivationDetector), trained with
 * advkit's training on clean vs PGD versions of `trainImages` training-split images. Each threshold is fit for
 * `fpr` on the next `calibration` clean training images, and its false-positive rate measured on the n clean
 * test images, which are then attacked: FGSM and PGD at eps, C&W (L2, unbounded) and the adaptive attack
 * (PGD on the classifier and the detector jointly, defend/detectors/adaptive-attack.ts). Per detector and
 * attack: attack success, detection rate, and the adversarial-and-undetected rate. Each finished row goes to
 * stateDir, so a stopped run continues (a learned detector is retrained: seeded, it is the same network).
 * Artifacts: detect.json and detect.md (the table).
 */
export const detectTask: DetectTask = {
  name: 'detect',
  title: 'Adversarial-example detectors at a 5% false-positive rate, against plain and adaptive attacks',
  schema: detectTaskSchema,
  async run(input, ctx: DetectContext = {}) {
    const started = performance.now();
    const spec = parseSpec(detectTaskSchema, input, 'detect');
    const detectors = parseList(spec.detector, DETECTOR_NAMES, 'detector');
    const attacks = parseList(spec.attacks, DETECT_ATTACKS, 'attacks');
    if (spec.squeezers !== undefined) parseSqueezers(spec.squeezers);
    const notes: string[] = [];
    const note = (text: string): void => {
      notes.push(text);
      ctx.onNote?.(text);
    };
    const source = await openModel(spec.model, { defaultName: DETECT_DEFAULT_MODEL, labels: spec.labels });
    const model = source.model;
    const owned: tf.Tensor[] = [];
    try {
      const budget = resolveEps(spec, model);
      const squeezerSpec = spec.squeezers ?? defaultSqueezers(model);
      const test = await loadModelSample(model, {
        data: spec.data,
        split: spec.split,
        dataDir: spec.dataDir,
        labelMap: spec.labelMap,
        n: spec.n,
      });
      owned.push(test.x);
      for (const text of test.info.notes) note(text);
      const sha256 = await modelSha256(model);
      const key: DetectKey = {
        modelSha256: sha256,
        data: test.info.name,
        split: test.info.split,
        n: test.info.n,
        eps: budget.value,
        fpr: spec.fpr,
        calibration: spec.calibration,
        trainImages: spec.trainImages,
        epochs: spec.epochs,
        squeezers: squeezerSpec,
        layer: spec.layer ?? '',
        cwSteps: spec.cwSteps,
        adaptiveSteps: spec.adaptiveSteps,
        adaptiveWeight: spec.adaptiveWeight ?? null,
        seed: spec.seed,
      };
      const stateFile =
        ctx.stateDir === undefined ? undefined : path.join(path.resolve(ctx.stateDir), STATE_FILE);
      const saved =
        stateFile === undefined
          ? { detectors: [], rows: [] }
          : ((await claimKeyedState(stateFile, {
              task: 'detect',
              key,
              restart: ctx.restart === true,
              isState: isSavedState,
              say: (t) => ctx.onNote?.(t),
            })) ?? { detectors: [], rows: [] });
      const rows: DetectRow[] = [];
      const infos: DetectorInfo[] = [];
      const save = async (): Promise<void> => {
        if (stateFile === undefined) return;
        const state: SavedState = { format: STATE_FORMAT, key, detectors: infos, rows };
        const bytes = new TextEncoder().encode(JSON.stringify(state));
        await writeAtomically(stateFile, (tmp) => writeFileSynced(tmp, bytes));
      };
      const wanted = detectors.length * attacks.length;
      const savedRow = (d: DetectorName, a: DetectAttack): DetectRow | undefined =>
        saved.rows.find((r) => r.detector === d && r.attack === a);
      const resumed = detectors.reduce(
        (k, d) => k + attacks.filter((a) => savedRow(d, a) !== undefined).length,
        0,
      );
      if (resumed > 0)
        ctx.onNote?.(`continuing: ${resumed} of ${wanted} rows read back from ${stateFile ?? ''}`);
      const backend = engineName();
      ctx.onProgress?.({ stage: 'start', model: source.name, rows: wanted, resumed, backend });

      const batchSize = spec.batchSize;
      const cleanPredictions = await predictClasses(model, test.x, { batchSize, signal: ctx.signal });
      const cleanAccuracy =
        test.labels.reduce((k, y, i) => k + Number(cleanPredictions[i] === y), 0) / test.info.n;

      // The training-split images: the binary detectors' training set, then the calibration set.
      const needsTraining = detectors.some(
        (d) => d !== 'feature-squeezing' && attacks.some((a) => savedRow(d, a) === undefined),
      );
      const first = needsTraining ? spec.trainImages : 0;
      const train = await loadModelSample(model, {
        data: spec.data,
        split: 'train',
        dataDir: spec.dataDir,
        labelMap: spec.labelMap,
        n: spec.trainImages + spec.calibration,
      });
      owned.push(train.x);
      if (train.info.n < spec.trainImages + spec.calibration) {
        throw invalidArgument(
          `detect: the training split holds ${train.info.n} images; 'trainImages' (${spec.trainImages}) + ` +
            `'calibration' (${spec.calibration}) must fit in it.`,
          { option: 'calibration' },
        );
      }
      const calibrationX = tf.slice(train.x, [spec.trainImages, 0, 0, 0], [spec.calibration, -1, -1, -1]);
      owned.push(calibrationX);

      const onAttack = (attack: string) => (fraction: number) =>
        ctx.onProgress?.({ stage: 'attack', attack, fraction });
      const plain: Partial<Record<DetectAttack, tf.Tensor4D>> = {};
      const plainAdversarial = async (a: 'fgsm' | 'pgd' | 'cw'): Promise<tf.Tensor4D> => {
        const cached = plain[a];
        if (cached !== undefined) return cached;
        const attack: Attack<Schema> = a === 'fgsm' ? fgsm : a === 'pgd' ? pgd : cw;
        const run = await runAttack(model, attack, {
          x: test.x,
          labels: test.labels,
          ...(a === 'cw'
            ? {
                norm: 'l2' as const,
                params: {
                  steps: spec.cwSteps,
                  binarySearchSteps: CW_SEARCH_STEPS,
                  initialConst: CW_INITIAL_CONST,
                  stepSize: CW_STEP_SIZE,
                },
              }
            : { eps: budget.value }),
          batchSize,
          seed: spec.seed,
          signal: ctx.signal,
          onProgress: (p) => onAttack(a)(p.fraction),
        });
        const adv = run.results[0].adversarial;
        if (adv === null) throw new AdvkitError('INTERNAL', `${a}: no adversarial inputs were kept.`);
        plain[a] = adv;
        owned.push(adv);
        return adv;
      };
      let trainPair: { clean: tf.Tensor4D; adversarial: tf.Tensor4D } | undefined;
      const trainingPair = async (): Promise<{ clean: tf.Tensor4D; adversarial: tf.Tensor4D }> => {
        if (trainPair !== undefined) return trainPair;
        const clean = tf.slice(train.x, [0, 0, 0, 0], [first, -1, -1, -1]);
        owned.push(clean);
        const run = await runAttack(model, pgd, {
          x: clean,
          labels: train.labels.subarray(0, first),
          eps: budget.value,
          params: { steps: TRAIN_PGD_STEPS, relStepSize: 2.5 / TRAIN_PGD_STEPS },
          batchSize,
          seed: spec.seed + 1,
          signal: ctx.signal,
          onProgress: (p) => onAttack('pgd (detector training data)')(p.fraction),
        });
        const adversarial = run.results[0].adversarial;
        if (adversarial === null) throw new AdvkitError('INTERNAL', 'pgd: no adversarial inputs were kept.');
        owned.push(adversarial);
        trainPair = { clean, adversarial };
        return trainPair;
      };

      try {
        for (const name of detectors) {
          const todo = attacks.filter((a) => savedRow(name, a) === undefined);
          const savedInfo = saved.detectors.find((d) => d.name === name);
          if (todo.length === 0 && savedInfo !== undefined) {
            infos.push(savedInfo);
            rows.push(
              ...attacks.map((a) => savedRow(name, a)).filter((r): r is DetectRow => r !== undefined),
            );
            continue;
          }
          const built = await buildDetector(name, model, {
            squeezers: squeezerSpec,
            spec,
            trainingPair,
            onTrain: (p) =>
              ctx.onProgress?.({
                stage: 'train',
                detector: name,
                epoch: p.epoch,
                epochs: p.epochs,
                step: p.step,
                totalSteps: p.totalSteps,
              }),
            signal: ctx.signal,
          });
          try {
            const detector = built.detector;
            const calibrationScores = await detectorScores(detector, calibrationX, {
              batchSize,
              signal: ctx.signal,
            });
            const threshold = thresholdAtFpr(calibrationScores, spec.fpr);
            const heldOut = await detectorScores(detector, test.x, { batchSize, signal: ctx.signal });
            infos.push({
              name,
              description: built.description,
              threshold,
              calibrationFpr: flagRate(calibrationScores, threshold),
              heldOutFpr: flagRate(heldOut, threshold),
              ...(built.training !== undefined ? { training: built.training } : {}),
            });
            for (const a of attacks) {
              const done = savedRow(name, a);
              if (done !== undefined) {
                rows.push(done);
                continue;
              }
              const t0 = performance.now();
              const adv =
                a === 'adaptive'
                  ? await attackWithDetector(detector, {
                      x: test.x,
                      labels: test.labels,
                      threshold,
                      eps: budget.value,
                      weight: spec.adaptiveWeight ?? ADAPTIVE_WEIGHT[name],
                      params: { steps: spec.adaptiveSteps },
                      batchSize,
                      seed: spec.seed,
                      signal: ctx.signal,
                      onProgress: onAttack(`adaptive vs ${name}`),
                    })
                  : await plainAdversarial(a);
              try {
                const rates = await detectionRates(detector, adv, {
                  labels: test.labels,
                  cleanPredictions,
                  threshold,
                  batchSize,
                  signal: ctx.signal,
                });
                const row: DetectRow = {
                  detector: name,
                  attack: a,
                  eps: a === 'cw' ? null : budget.value,
                  ...rates,
                  seconds: (performance.now() - t0) / 1000,
                };
                rows.push(row);
                await save();
                ctx.onProgress?.({ stage: 'row', row, done: rows.length, rows: wanted });
              } finally {
                if (a === 'adaptive') adv.dispose();
              }
            }
          } finally {
            built.dispose();
          }
        }
      } finally {
        await save();
      }
      const result: DetectResult = {
        task: 'detect',
        schemaVersion: 1,
        model: { name: source.name, dir: source.dir, sha256 },
        data: test.info,
        settings: {
          eps: budget.value,
          epsText: budget.text,
          fpr: spec.fpr,
          calibration: { split: 'train', images: spec.calibration },
          trainImages: spec.trainImages,
          epochs: spec.epochs,
          squeezers: squeezerSpec,
          cwSteps: spec.cwSteps,
          adaptiveSteps: spec.adaptiveSteps,
          adaptiveWeights: Object.fromEntries(
            detectors.map((d) => [d, spec.adaptiveWeight ?? ADAPTIVE_WEIGHT[d]]),
          ),
          seed: spec.seed,
        },
        cleanAccuracy,
        detectors: infos,
        rows,
        worstCase: worstCaseOf(detectors, rows),
        backend,
        resumed,
        seconds: (performance.now() - started) / 1000,
        ...(ctx.command !== undefined ? { command: ctx.command } : {}),
        notes,
      };
      const markdown = detectMarkdown(result);
      return {
        result,
        artifacts: [
          jsonArtifact('detect.json', result),
          { name: 'detect.md', mediaType: 'text/markdown', bytes: new TextEncoder().encode(markdown) },
        ],
      };
    } finally {
      tf.dispose(owned);
      model.dispose();
    }
  },
};

interface BuiltDetector {
  detector: Detector;
  description: string;
  training?: DetectorInfo['training'];
  dispose(): void;
}

async function buildDetector(
  name: DetectorName,
  model: Classifier,
  opts: {
    squeezers: string;
    spec: DetectSpec;
    trainingPair: () => Promise<{ clean: tf.Tensor4D; adversarial: tf.Tensor4D }>;
    onTrain: (p: TrainProgress) => void;
    signal?: AbortSignal;
  },
): Promise<BuiltDetector> {
  if (name === 'feature-squeezing') {
    return {
      detector: featureSqueezing(model, parseSqueezers(opts.squeezers)),
      description: `max L1 distance of the softmax to that of each squeezed input: ${opts.squeezers}`,
      dispose: () => {},
    };
  }
  const { clean, adversarial } = await opts.trainingPair();
  const kind = name === 'binary-input' ? 'input' : 'activation';
  const trained = await trainBinaryDetector(model, {
    kind,
    clean,
    adversarial,
    layer: opts.spec.layer,
    epochs: opts.spec.epochs,
    seed: opts.spec.seed,
    batchSize: opts.spec.batchSize,
    signal: opts.signal,
    onProgress: (p) => {
      if (p.phase === 'step') opts.onTrain(p);
    },
  });
  const f = trained.features;
  return {
    detector: trained.detector,
    description:
      f === undefined
        ? 'MLP (256 hidden units) on the inputs, clean vs PGD'
        : `MLP (256 hidden units) on activation '${f.layer}' [${f.shape.join('x')}] / ${f.scale.toPrecision(4)}, clean vs PGD`,
    training: {
      images: clean.shape[0],
      epochs: opts.spec.epochs,
      trainAccuracy: trained.trainAccuracy,
      seconds: trained.seconds,
      ...(f !== undefined ? { layer: f.layer, scale: f.scale } : {}),
    },
    dispose: () => trained.net.dispose(),
  };
}

/** 'a,b' or undefined (all) as known names, in the known order; an unknown name lists the known ones. */
export function parseList<T extends string>(
  value: string | undefined,
  known: readonly T[],
  option: string,
): T[] {
  if (value === undefined) return [...known];
  const items = value.split(',').map((s) => s.trim());
  for (const item of items) {
    if (!known.includes(item as T)) {
      throw invalidArgument(
        `detect: unknown ${option} '${item}'; expected a comma-separated list of: ${known.join(', ')}.`,
        { option },
      );
    }
  }
  return known.filter((k) => items.includes(k));
}

/** The one Linf budget: given (exactly one), or the dataset's largest standard budget. */
function resolveEps(spec: DetectSpec, model: Classifier): Budget {
  const dataset = spec.data ?? model.metadata.dataset ?? 'mnist';
  const budgets =
    spec.eps === undefined
      ? defaultBudgets(dataset, 'linf', model.bounds, "'eps'")
      : parseBudgets(spec.eps, { name: "'eps'", allowZero: false, bounds: model.bounds, norm: 'linf' });
  if (spec.eps !== undefined && budgets.length !== 1) {
    throw invalidArgument(
      `detect: 'eps' must be one Linf budget (e.g. 0.3 or 8/255), got ${budgets.length}: ${budgets.map((b) => b.text).join(', ')}.`,
      { option: 'eps' },
    );
  }
  return budgets[budgets.length - 1];
}

const pct = (v: number): string => (Number.isNaN(v) ? '-' : `${(100 * v).toFixed(1)}%`);

/** The table as Markdown: one row per detector and attack. */
/** Per detector: the images some attack got past it, over the points every row counted. */
function worstCaseOf(
  detectors: readonly DetectorName[],
  rows: readonly DetectRow[],
): DetectResult['worstCase'] {
  return detectors.map((detector) => {
    const mine = rows.filter((r) => r.detector === detector);
    const escaped = new Set(mine.flatMap((r) => r.escaped));
    const points = mine.length === 0 ? 0 : mine[0].points;
    return {
      detector,
      undetectedAdversarial: points === 0 ? Number.NaN : escaped.size / points,
      attacks: mine.map((r) => r.attack),
    };
  });
}

export function detectMarkdown(r: DetectResult): string {
  const s = r.settings;
  const lines = [
    `# Detectors on ${r.model.name}`,
    '',
    `${r.data.n} ${r.data.name} ${r.data.split} images (clean accuracy ${pct(r.cleanAccuracy)}); thresholds for ` +
      `${pct(s.fpr)} false positives fit on ${s.calibration.images} clean training images; Linf eps ${s.epsText} ` +
      `(FGSM, PGD, adaptive), C&W L2 unbounded; seed ${s.seed}; backend ${r.backend}.`,
    '',
    '| detector | FPR (held out) | attack | attack success | detected | adversarial and undetected |',
    '| --- | --- | --- | --- | --- | --- |',
    ...r.rows.map((row) => {
      const info = r.detectors.find((d) => d.name === row.detector);
      return `| ${row.detector} | ${info === undefined ? '-' : pct(info.heldOutFpr)} | ${row.attack} | ${pct(row.attackSuccess)} | ${pct(row.detectionRate)} | ${pct(row.undetectedAdversarial)} |`;
    }),
    ...r.worstCase.map(
      (w) =>
        `| ${w.detector} | | worst case per image (${w.attacks.join(', ')}) | | | ${pct(w.undetectedAdversarial)} |`,
    ),
    '',
    ...r.detectors.map(
      (d) =>
        `- ${d.name}: ${d.description}; threshold ${d.threshold.toPrecision(4)}` +
        (d.training !== undefined
          ? `; trained on ${d.training.images} clean + ${d.training.images} PGD images, ${d.training.epochs} epochs, training accuracy ${pct(d.training.trainAccuracy)}`
          : ''),
    ),
    '',
  ];
  return lines.join('\n');
}

function isSavedState(v: unknown): v is SavedState {
  return (
    typeof v === 'object' &&
    v !== null &&
    Reflect.get(v, 'format') === STATE_FORMAT &&
    typeof Reflect.get(v, 'key') === 'object' &&
    Array.isArray(Reflect.get(v, 'rows')) &&
    Array.isArray(Reflect.get(v, 'detectors'))
  );
}
