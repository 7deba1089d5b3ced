import * as tf from '@tensorflow/tfjs-core';
import path from 'node:path';
import { engineName } from '../backend/backend.js';
import { writeAtomically } from '../data/node/atomic-write.js';
import { attackWithinRadius, type RadiusCheckPoint } from '../defend/radius-check.js';
import { ABSTAIN, certifiedAccuracy, certify } from '../defend/randomized-smoothing.js';
import { normalInverseCdf } from '../defend/statistics.js';
import { invalidArgument } from '../errors.js';
import { modelSha256 } from '../evaluate/fingerprint.js';
import type { Model } from '../models/model.js';
import { certifiedAccuracySvg } from '../render/node/certify-chart.js';
import { certifyReportHtml } from '../render/node/certify-html.js';
import { writeFileSynced } from '../util/node/write-file-synced.js';
import { CERTIFY_DEFAULT_RADII, certifyTaskSchema, type CertifySpec } from './certify-spec.js';
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

/** One certified image. */
export interface CertifiedPoint {
  /** Position in the split (the first n are certified, so also its position in the run). */
  index: number;
  /** 'cifar10/test#17'. */
  source: string;
  label: number;
  /** The smoothed classifier's class, or -1 when it abstains. */
  prediction: number;
  /** Certified L2 radius in pixel units; 0 when abstaining. */
  radius: number;
  /** The (1 - alpha) lower confidence bound on the top class's probability under noise. */
  pALower: number;
  /** Certified and the label: what certified accuracy counts (at radii up to `radius`). */
  correct: boolean;
  /** Seconds this image took. */
  seconds: number;
}

/** What the certificates depend on; a saved state with other values is not continued. */
export interface CertifyKey {
  modelSha256: string;
  data: string;
  split: string;
  sigma: number;
  n0: number;
  samples: number;
  alpha: number;
  seed: number;
}

export interface CertifyResult extends TaskResult {
  task: 'certify';
  schemaVersion: 1;
  model: { name: string; dir: string; sha256: string };
  data: DataInfo;
  settings: { sigma: number; n0: number; samples: number; alpha: number; batchSize: number; seed: number };
  /** Certified accuracy at each asked-for radius: certified, right, and with a radius of at least r. */
  certifiedAccuracy: { radius: number; accuracy: number }[];
  /** Images where the smoothed classifier abstained (pA_lower < 1/2). */
  abstained: number;
  /** Mean seconds per image over the images certified (in this call or in the calls it continued). */
  secondsPerImage: number;
  /** What the sample count allows: no radius can exceed maxRadius, however good the model. */
  sampleLimit: {
    samples: number;
    alpha: number;
    /** sigma * Phi^-1(alpha^(1/N)), or 0 when alpha^(1/N) < 1/2 (then nothing can be certified). */
    maxRadius: number;
    /** The same cap with a tenth and ten times the samples. */
    withTenthSamples: number;
    withTenTimesSamples: number;
    explanation: string;
  };
  points: CertifiedPoint[];
  /** With attackCheck: the certified images attacked inside their radius, and whether any certificate broke. */
  radiusCheck?: RadiusCheckSummary;
  backend: string;
  /** Images read back from the state directory rather than certified by this call. */
  resumed: number;
  /** Seconds of this call. */
  seconds: number;
  command?: string;
  notes: string[];
}

/** The empirical check of the certificates (defend/radius-check.ts). */
export interface RadiusCheckSummary {
  /** Certified images attacked. */
  attacked: number;
  /** Of them, those where PREDICT named another class inside the radius: certificates broken (must be 0). */
  changed: number;
  /** Those where PREDICT abstained at the adversarial point (allowed: the certificate is about the class). */
  abstained: number;
  attack: { name: 'pgd'; norm: 'l2'; steps: number; eot: number; predictSamples: number; alpha: number };
  points: (RadiusCheckPoint & { source: string })[];
  seconds: number;
}

export type CertifyProgress =
  | {
      stage: 'start';
      model: string;
      points: number;
      resumed: number;
      copiesPerImage: number;
      backend: string;
    }
  | { stage: 'sampling'; point: number; points: number; done: number; total: number }
  | { stage: 'attack-check'; done: number; total: number }
  | {
      stage: 'point';
      point: number;
      points: number;
      label: number;
      prediction: number;
      radius: number;
      correct: boolean;
      seconds: number;
    };

export interface CertifyContext extends TaskContext<CertifyProgress> {
  /** Discard the state of a run with other settings found in stateDir instead of refusing. */
  restart?: boolean;
  /** The command line that reproduces the run, recorded in the result. */
  command?: string;
}

export interface CertifyTask extends Task<typeof certifyTaskSchema, CertifyResult, CertifyProgress> {
  run(spec: TaskInput<typeof certifyTaskSchema>, ctx?: CertifyContext): Promise<TaskOutput<CertifyResult>>;
}

const STATE_FILE = 'certify-state.json';
const STATE_FORMAT = 'advkit-certify-state/1';
/** A state is saved after an image at most this often (and always at the end or when stopped). */
const SAVE_INTERVAL_MS = 1000;

interface SavedState {
  format: typeof STATE_FORMAT;
  key: CertifyKey;
  points: CertifiedPoint[];
}

/**
 * Randomized smoothing's certification of a model on the first n images of a dataset split (Cohen, Rosenfeld &
 * Kolter 2019; the algorithm is defend/randomized-smoothing.ts's `certify`): per image the smoothed class (or an
 * abstention) and its certified L2 radius, then the certified accuracy at each radius. Image i draws its noise
 * from the stream (seed, i), so the images can be certified one at a time: the results go to stateDir after each
 * image, the same spec run again continues where a stopped run ended and gives the result of an uninterrupted
 * run, and a state with other settings is refused unless ctx.restart. Artifacts: certify.json and certify.svg
 * (the certified-accuracy curve).
 */
export const certifyTask: CertifyTask = {
  name: 'certify',
  title: 'Certified L2 robustness by randomized smoothing (Cohen et al. 2019): certified accuracy per radius',
  schema: certifyTaskSchema,
  async run(input, ctx: CertifyContext = {}) {
    const started = performance.now();
    const spec = parseSpec(certifyTaskSchema, input, 'certify');
    const { sigma, modelRef, radii } = checkSpec(spec);
    const notes: string[] = [];
    const note = (text: string): void => {
      notes.push(text);
      ctx.onNote?.(text);
    };
    const source = await openModel(modelRef, { defaultName: modelRef, labels: spec.labels, flag: "'model'" });
    const model = source.model;
    let x: tf.Tensor4D | undefined;
    try {
      const sample = await loadModelSample(model, {
        data: spec.data,
        split: spec.split,
        dataDir: spec.dataDir,
        labelMap: spec.labelMap,
        n: spec.n,
      });
      x = sample.x;
      for (const text of sample.info.notes) note(text);
      const sha256 = await modelSha256(model);
      const key: CertifyKey = {
        modelSha256: sha256,
        data: sample.info.name,
        split: sample.info.split,
        sigma,
        n0: spec.n0,
        samples: spec.samples,
        alpha: spec.alpha,
        seed: spec.seed,
      };
      const stateFile =
        ctx.stateDir === undefined ? undefined : path.join(path.resolve(ctx.stateDir), STATE_FILE);
      const count = sample.info.n;
      const saved =
        stateFile === undefined
          ? []
          : ((
              await claimKeyedState(stateFile, {
                task: 'certify',
                key,
                restart: ctx.restart === true,
                isState: isSavedState,
                say: (t) => ctx.onNote?.(t),
              })
            )?.points ?? []);
      const points = saved.slice(0, count);
      for (const p of points) {
        if (p.label !== sample.labels[p.index] || p.source !== sample.sources[p.index]) {
          throw invalidArgument(
            `certify: ${stateFile ?? 'the state'} holds image ${p.source} labelled ${p.label}, but the data now ` +
              `gives ${sample.sources[p.index]} labelled ${sample.labels[p.index]}; certify the same data to continue, ` +
              "or add 'restart' to discard the state.",
            { option: 'restart' },
          );
        }
      }
      const resumed = points.length;
      if (resumed > 0)
        ctx.onNote?.(`continuing: ${resumed} of ${count} images read back from ${stateFile ?? ''}`);
      const backend = engineName();
      ctx.onProgress?.({
        stage: 'start',
        model: source.name,
        points: count,
        resumed,
        copiesPerImage: spec.n0 + spec.samples,
        backend,
      });
      let lastSave = Date.now();
      let unsaved = false;
      const save = async (): Promise<void> => {
        if (stateFile === undefined || !unsaved) return;
        const state: SavedState = { format: STATE_FORMAT, key, points };
        const bytes = new TextEncoder().encode(JSON.stringify(state));
        await writeAtomically(stateFile, (tmp) => writeFileSynced(tmp, bytes));
        lastSave = Date.now();
        unsaved = false;
      };
      try {
        for (let i = points.length; i < count; i++) {
          const t0 = performance.now();
          const image = tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]);
          let cert;
          try {
            [cert] = await certify(model, image, {
              sigma,
              n0: spec.n0,
              n: spec.samples,
              alpha: spec.alpha,
              batchSize: spec.batchSize,
              seed: spec.seed,
              // Image i's noise is the stream (seed, i) whichever call certifies it: a resumed run is identical.
              offset: i,
              signal: ctx.signal,
              onProgress: (p) =>
                ctx.onProgress?.({
                  stage: 'sampling',
                  point: i,
                  points: count,
                  done: p.done,
                  total: p.total,
                }),
            });
          } finally {
            image.dispose();
          }
          const label = sample.labels[i];
          const point: CertifiedPoint = {
            index: i,
            source: sample.sources[i],
            label,
            prediction: cert.prediction,
            radius: cert.radius,
            pALower: cert.pALower,
            correct: cert.prediction !== ABSTAIN && cert.prediction === label,
            seconds: (performance.now() - t0) / 1000,
          };
          points.push(point);
          unsaved = true;
          if (Date.now() - lastSave >= SAVE_INTERVAL_MS) await save();
          ctx.onProgress?.({
            stage: 'point',
            point: i,
            points: count,
            label,
            prediction: point.prediction,
            radius: point.radius,
            correct: point.correct,
            seconds: point.seconds,
          });
        }
      } finally {
        // Stopped or finished, the images done so far are kept.
        await save();
      }
      const accuracy = certifiedAccuracy(points, sample.labels, radii);
      const radiusCheck =
        spec.attackCheck > 0 ? await checkRadii(model, x, points, spec, sigma, ctx) : undefined;
      const result: CertifyResult = {
        task: 'certify',
        schemaVersion: 1,
        model: { name: source.name, dir: source.dir, sha256 },
        data: sample.info,
        settings: {
          sigma,
          n0: spec.n0,
          samples: spec.samples,
          alpha: spec.alpha,
          batchSize: spec.batchSize,
          seed: spec.seed,
        },
        certifiedAccuracy: radii.map((radius, k) => ({ radius, accuracy: accuracy[k] })),
        abstained: points.filter((p) => p.prediction === ABSTAIN).length,
        secondsPerImage: points.reduce((t, p) => t + p.seconds, 0) / points.length,
        sampleLimit: sampleLimit(sigma, spec.samples, spec.alpha),
        points,
        ...(radiusCheck !== undefined ? { radiusCheck } : {}),
        backend,
        resumed,
        seconds: (performance.now() - started) / 1000,
        ...(ctx.command !== undefined ? { command: ctx.command } : {}),
        notes,
      };
      const svg = await certifiedAccuracySvg({
        points,
        radii: result.certifiedAccuracy,
        sigma,
        maxRadius: result.sampleLimit.maxRadius,
        samples: spec.samples,
      });
      return {
        result,
        artifacts: [
          jsonArtifact('certify.json', result),
          { name: 'certify.svg', mediaType: 'image/svg+xml', bytes: new TextEncoder().encode(svg) },
          {
            name: 'report.html',
            mediaType: 'text/html',
            bytes: new TextEncoder().encode(certifyReportHtml(result, svg)),
          },
        ],
      };
    } finally {
      x?.dispose();
      model.dispose();
    }
  },
};

/** Certificate check settings: Madry et al.'s PGD with enough steps to cross the ball, EOT over the noise. */
const CHECK_STEPS = 40;
const CHECK_EOT = 16;
const CHECK_PREDICT_SAMPLES = 1000;

/** The first `spec.attackCheck` certified images (class and radius > 0), attacked inside their radius. */
async function checkRadii(
  model: Model,
  x: tf.Tensor4D,
  points: readonly CertifiedPoint[],
  spec: CertifySpec & { attackCheck: number },
  sigma: number,
  ctx: CertifyContext,
): Promise<RadiusCheckSummary> {
  const t0 = performance.now();
  const chosen = points.filter((p) => p.prediction !== ABSTAIN && p.radius > 0).slice(0, spec.attackCheck);
  const rows = tf.tidy(() =>
    tf.gather(
      x,
      chosen.map((p) => p.index),
    ),
  );
  try {
    const checked = await attackWithinRadius(model, rows, chosen, {
      sigma,
      steps: CHECK_STEPS,
      eot: CHECK_EOT,
      samples: CHECK_PREDICT_SAMPLES,
      alpha: spec.alpha,
      batchSize: spec.batchSize,
      seed: spec.seed,
      signal: ctx.signal,
      onProgress: (p) => ctx.onProgress?.({ stage: 'attack-check', ...p }),
    });
    return {
      attacked: checked.length,
      changed: checked.filter((c) => c.changed).length,
      abstained: checked.filter((c) => c.after === ABSTAIN).length,
      attack: {
        name: 'pgd',
        norm: 'l2',
        steps: CHECK_STEPS,
        eot: CHECK_EOT,
        predictSamples: CHECK_PREDICT_SAMPLES,
        alpha: spec.alpha,
      },
      points: checked.map((c) => ({ ...c, index: chosen[c.index].index, source: chosen[c.index].source })),
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    rows.dispose();
  }
}

/** The checks the schema cannot make: what is required, samples against n0, and the radii. */
function checkSpec(spec: CertifySpec): { sigma: number; modelRef: string; radii: number[] } {
  if (spec.model === undefined) {
    throw invalidArgument(
      "certify: 'model' is required: a model directory or a bundled model name (e.g. cifar-cnn).",
      { option: 'model' },
    );
  }
  if (spec.sigma === undefined) {
    throw invalidArgument(
      "certify: 'sigma' is required: the standard deviation of the Gaussian noise in the model's pixel units " +
        '(Cohen et al. use 0.12, 0.25, 0.5 and 1.0 on [0, 1] images).',
      { option: 'sigma' },
    );
  }
  if (spec.samples < spec.n0) {
    throw invalidArgument(
      `certify: 'samples' (${spec.samples}, the noisy copies that bound the top class's probability) must be at ` +
        `least 'n0' (${spec.n0}, the copies that only pick the class); give 'samples' >= ${spec.n0} ` +
        '(Cohen et al. use 100 and 100,000).',
      { option: 'samples' },
    );
  }
  return { sigma: spec.sigma, modelRef: spec.model, radii: parseRadii(spec.radii) };
}

/** '0,0.25,0.5' or [0, 0.5]: finite radii >= 0, ascending, each once. */
export function parseRadii(value: string | readonly number[] | undefined): number[] {
  if (value === undefined) return [...CERTIFY_DEFAULT_RADII];
  const items = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : [...value];
  const radii: number[] = [];
  for (const item of items) {
    const r = typeof item === 'number' ? item : item === '' ? Number.NaN : Number(item);
    if (!Number.isFinite(r) || r < 0) {
      throw invalidArgument(
        `certify: 'radii' must be L2 radii >= 0 in pixel units, comma-separated (e.g. 0,0.25,0.5), got '${String(item)}'.`,
        { option: 'radii' },
      );
    }
    if (!radii.includes(r)) radii.push(r);
  }
  if (radii.length === 0) {
    throw invalidArgument("certify: 'radii' is empty; give L2 radii such as 0,0.25,0.5.", {
      option: 'radii',
    });
  }
  return radii.sort((a, b) => a - b);
}

/**
 * The largest radius N samples can certify at level alpha: with every copy in the top class the one-sided
 * Clopper-Pearson bound is alpha^(1/N), so no radius exceeds sigma * Phi^-1(alpha^(1/N)).
 */
export function maxCertifiableRadius(sigma: number, samples: number, alpha: number): number {
  const pA = alpha ** (1 / samples);
  return pA <= 0.5 ? 0 : sigma * normalInverseCdf(pA);
}

function sampleLimit(sigma: number, samples: number, alpha: number): CertifyResult['sampleLimit'] {
  const maxRadius = maxCertifiableRadius(sigma, samples, alpha);
  const tenth = Math.max(1, Math.round(samples / 10));
  const withTenthSamples = maxCertifiableRadius(sigma, tenth, alpha);
  const withTenTimesSamples = maxCertifiableRadius(sigma, samples * 10, alpha);
  const cap = (r: number): string => r.toFixed(3);
  const explanation =
    maxRadius === 0
      ? `With N = ${samples} samples and alpha = ${alpha}, alpha^(1/N) <= 1/2, so no image can be certified at any ` +
        `radius: give more samples (N = ${samples * 10} allows up to ${cap(withTenTimesSamples)}).`
      : `With N = ${samples} samples and alpha = ${alpha}, even an image whose every noisy copy is classified ` +
        `the same gets pA_lower = alpha^(1/N) = ${(alpha ** (1 / samples)).toFixed(6)}, so no radius exceeds ` +
        `sigma * Phi^-1(alpha^(1/N)) = ${cap(maxRadius)} and certified accuracy beyond it is 0 whatever the ` +
        `model. Fewer samples lower this cap (N = ${tenth}: ${cap(withTenthSamples)}); more raise it slowly ` +
        `(N = ${samples * 10}: ${cap(withTenTimesSamples)}).`;
  return { samples, alpha, maxRadius, withTenthSamples, withTenTimesSamples, explanation };
}

function isSavedState(v: unknown): v is SavedState {
  return (
    typeof v === 'object' &&
    v !== null &&
    Reflect.get(v, 'format') === STATE_FORMAT &&
    typeof Reflect.get(v, 'key') === 'object' &&
    Array.isArray(Reflect.get(v, 'points'))
  );
}
