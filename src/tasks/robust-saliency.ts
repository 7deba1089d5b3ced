import * as tf from '@tensorflow/tfjs-core';
import { engineName } from '../backend/backend.js';
import { AdvkitError, invalidArgument } from '../errors.js';
import { explain } from '../explain/explain.js';
import {
  deletionInsertion,
  type FaithfulnessCurve,
  type FaithfulnessResult,
} from '../explain/sanity/faithfulness.js';
import { spearman } from '../explain/sanity/rank-correlation.js';
import type { Classifier } from '../models/classifier.js';
import { pixelImportance } from '../render/heatmap.js';
import { mapDisplay, renderExplainGrid, type ExplainGridRow } from '../render/node/explain-grid.js';
import { imageFromValues } from '../render/pixel-image.js';
import { loadModelSample, type ModelSample } from './model-data.js';
import { openModel, type ModelSource } from './model-source.js';
import { robustSaliencySchema } from './robust-saliency-spec.js';
import { parseSpec } from './spec.js';
import {
  jsonArtifact,
  type Task,
  type TaskContext,
  type TaskInput,
  type TaskOutput,
  type TaskResult,
} from './task.js';

type ModelRole = 'standard' | 'robust';

/** A mean over the images with its standard error. */
export interface MeanSe {
  mean: number;
  se: number;
  /** Images with a value (deletion and insertion leave out those whose logit does not move). */
  n: number;
}

/**
 * One curve (deletion or insertion) of one map, summarized two ways that hold across models: the logit's area
 * normalized over all images at once, next to the same for the model's random pixel order, and how often the
 * map beats that random order on the same image (raw logits, so no normalization is needed).
 */
export interface CurveScore {
  /**
   * (sum_i AUC_i - F_i(r)) / (sum_i F_i(x) - F_i(r)), F the label's logit, AUC_i the area under it as pixels
   * change, r the fully replaced image: 1 at the clean image, 0 at r. Pooled over the images rather than
   * averaged per image, so that images whose logit barely moves (F(x) near F(r)) weigh little instead of
   * dominating. Deletion: lower is more faithful; insertion: higher.
   */
  auc: number;
  /** The same for the random pixel order on the same model: the chance level. */
  random: number;
  /** Fraction of the images on which the map's logit area beats the random order's (below it for deletion). */
  beatsRandom: number;
  /** The median over the images of the per-image normalized area, (F(x_t) - F(r)) / (F(x) - F(r)). */
  median: number;
}

/** One map (a method on a model) scored on every image. */
export interface RobustSaliencyMap {
  /** 'standard-saliency', 'standard-smoothgrad', 'robust-saliency', 'robust-smoothgrad'. */
  id: string;
  model: ModelRole;
  method: 'saliency' | 'smoothgrad';
  params: Record<string, unknown>;
  /** Pixels replaced (deletionBaseline) most attributed first. */
  deletion: CurveScore;
  /** Pixels put back into a blurred image, most attributed first. */
  insertion: CurveScore;
  /**
   * (insertion - deletion) minus the same for the random order: one number for faithfulness, in units of the
   * logit's span, that holds across models (0: no better than random pixels; higher is better).
   */
  gainOverRandom: number;
  /** Spearman's correlation of the map (|values| summed over the channels) with the image's Sobel edge magnitude. */
  edgeAlignment: MeanSe;
  perImage: {
    /** The label's logit area under deletion and insertion, raw (the model's logit units). */
    deletion: number[];
    insertion: number[];
    edgeAlignment: number[];
  };
  gradients: number;
  seconds: number;
}

export interface RobustSaliencyResult extends TaskResult {
  task: 'robust-saliency';
  schemaVersion: 1;
  backend: string;
  data: { name: string; split: string; n: number; notes: string[] };
  /** The class whose logit every map explains: the true label, the same for both models. */
  target: 'label';
  models: Record<
    ModelRole,
    {
      name: string;
      dir: string;
      /** Accuracy on these images. */
      accuracy: number;
      /** The random pixel order's raw logit areas per image (deletion, insertion): the chance level of its maps. */
      random: { deletion: number[]; insertion: number[] };
    }
  >;
  faithfulness: FaithfulnessResult['options'];
  maps: RobustSaliencyMap[];
  seconds: number;
  notes: string[];
}

export type RobustSaliencyProgress =
  | { stage: 'map'; id: string; index: number; total: number }
  | { stage: 'explain'; id: string; fraction: number };

const RESULT_FILE = 'robust-saliency.json';
const PICTURE_FILE = 'robust-saliency.png';

/** The maps compared, in the picture's column order. */
const MAPS: readonly { id: string; model: ModelRole; method: 'saliency' | 'smoothgrad'; column: string }[] = [
  { id: 'standard-saliency', model: 'standard', method: 'saliency', column: 'std saliency' },
  { id: 'standard-smoothgrad', model: 'standard', method: 'smoothgrad', column: 'std SmoothGrad' },
  { id: 'robust-saliency', model: 'robust', method: 'saliency', column: 'robust saliency' },
  { id: 'robust-smoothgrad', model: 'robust', method: 'smoothgrad', column: 'robust SmoothGrad' },
];

/**
 * Noisy gradients, SmoothGrad, and a robust model's plain gradient (Smilkov et al. 2017; Tsipras et al. 2019,
 * "Robustness May Be at Odds with Accuracy", whose robust models' gradients look like the objects): on the
 * first n test images, the saliency map (Simonyan et al. 2014) and SmoothGrad of the standard model and of the
 * robust model, all of the true label's logit, each scored two ways. Faithfulness: deletion and insertion
 * (Petsiuk et al. 2018; explain/sanity/faithfulness.ts), deleted pixels blurred by default (the image insertion
 * starts from, so that both curves replace pixels the same way; scattered black pixels are a perturbation of
 * their own that a random order exploits), the logit's area normalized by F(x) - F(r) pooled over the images
 * so that the two models' logit scales cancel, and each map against its own model's random pixel order
 * (CurveScore). Edge alignment: Spearman's correlation between the map's magnitude and the image's Sobel edge
 * magnitude, a proxy for maps that follow the object's outline (and one that a map blind to the model can
 * score high on; Adebayo et al. 2018). The picture shows the first images with every map over the grey image.
 */
export const robustSaliencyTask: Task<
  typeof robustSaliencySchema,
  RobustSaliencyResult,
  RobustSaliencyProgress
> & {
  run(
    spec: TaskInput<typeof robustSaliencySchema>,
    ctx?: TaskContext<RobustSaliencyProgress>,
  ): Promise<TaskOutput<RobustSaliencyResult>>;
} = {
  name: 'robust-saliency',
  title: "Saliency and SmoothGrad of a standard model next to a robust model's saliency, scored",
  schema: robustSaliencySchema,
  async run(input, ctx: TaskContext<RobustSaliencyProgress> = {}) {
    const started = performance.now();
    const spec = parseSpec(robustSaliencySchema, input, 'robust-saliency');
    const sources: Partial<Record<ModelRole, ModelSource>> = {};
    const samples: Partial<Record<ModelRole, ModelSample>> = {};
    try {
      for (const role of ['standard', 'robust'] as const) {
        sources[role] = await openModel(spec[role], { defaultName: spec[role], flag: `'${role}'` });
      }
      const standard = sources.standard as ModelSource;
      const robust = sources.robust as ModelSource;
      checkComparable(standard.model, robust.model);
      for (const role of ['standard', 'robust'] as const) {
        samples[role] = await loadModelSample((sources[role] as ModelSource).model, {
          split: 'test',
          n: spec.n,
          dataDir: spec.dataDir,
        });
      }
      const data = samples.standard as ModelSample;
      const robustData = samples.robust as ModelSample;
      if (data.info.name !== robustData.info.name) {
        throw invalidArgument(
          `robust-saliency: the standard model was trained on ${data.info.name} and the robust one on ` +
            `${robustData.info.name}; compare two models of the same data.`,
          { option: 'robust' },
        );
      }
      const notes = [...new Set([...data.info.notes, ...robustData.info.notes])];
      for (const note of notes) ctx.onNote?.(note);
      const [h, w, c] = standard.model.inputShape;
      const n = data.x.shape[0];
      const edges = await edgeMaps(data.x);

      const shown = Math.min(spec.pictures, n);
      const pictureMaps: Float32Array[] = [];
      const maps: RobustSaliencyMap[] = [];
      const random: Partial<
        Record<ModelRole, { deletion: FaithfulnessCurve; insertion: FaithfulnessCurve }>
      > = {};
      const predictions: Partial<Record<ModelRole, Int32Array>> = {};
      let faithOptions: FaithfulnessResult['options'] | undefined;
      for (const [index, m] of MAPS.entries()) {
        ctx.onProgress?.({ stage: 'map', id: m.id, index, total: MAPS.length });
        const t0 = performance.now();
        const model = (sources[m.model] as ModelSource).model;
        const x = (samples[m.model] as ModelSample).x;
        const params =
          m.method === 'smoothgrad' ? { sigma: spec.sigma, samples: spec.samples, base: 'saliency' } : {};
        const a = await explain(model, m.method, {
          x,
          target: 'label',
          labels: data.labels,
          params,
          seed: spec.seed,
          batchSize: 256,
          signal: ctx.signal,
          onProgress: (p) => ctx.onProgress?.({ stage: 'explain', id: m.id, fraction: p.fraction }),
        });
        try {
          predictions[m.model] ??= a.predictions;
          const firstOnModel = random[m.model] === undefined;
          const faith = await deletionInsertion(model, x, a.maps, a.targets, {
            steps: spec.steps,
            deletionBaseline: spec.deletionBaseline,
            seed: spec.seed,
            randomOrders: firstOnModel ? 1 : 0,
            batchSize: 256,
            signal: ctx.signal,
          });
          faithOptions ??= faith.options;
          if (firstOnModel && faith.random !== undefined) {
            random[m.model] = { deletion: faith.random.deletion, insertion: faith.random.insertion };
          }
          const chance = random[m.model];
          if (chance === undefined)
            throw new AdvkitError('INTERNAL', 'robust-saliency: no random-order baseline.');
          const values = (await a.maps.data()) as Float32Array;
          const size = h * w * c;
          const edgeAlignment = Array.from({ length: n }, (_, i) =>
            spearman(
              pixelImportance(values.subarray(i * size, (i + 1) * size), [h, w, c], 'abs-sum'),
              edges.subarray(i * h * w, (i + 1) * h * w),
            ),
          );
          pictureMaps.push(values.slice(0, shown * size));
          const deletion = curveScore(faith.deletion, chance.deletion, false);
          const insertion = curveScore(faith.insertion, chance.insertion, true);
          maps.push({
            id: m.id,
            model: m.model,
            method: m.method,
            params: a.params,
            deletion,
            insertion,
            gainOverRandom: insertion.auc - deletion.auc - (insertion.random - deletion.random),
            edgeAlignment: meanSe(edgeAlignment),
            perImage: {
              deletion: faith.deletion.logitAucPerInput,
              insertion: faith.insertion.logitAucPerInput,
              edgeAlignment,
            },
            gradients: a.cost.gradients,
            seconds: (performance.now() - t0) / 1000,
          });
        } finally {
          a.maps.dispose();
        }
      }
      const models = {} as RobustSaliencyResult['models'];
      for (const role of ['standard', 'robust'] as const) {
        const s = sources[role] as ModelSource;
        const predicted = predictions[role] ?? new Int32Array(0);
        models[role] = {
          name: s.name,
          dir: s.dir,
          accuracy: predicted.reduce((sum, p, i) => sum + Number(p === data.labels[i]), 0) / n,
          random: {
            deletion: random[role]?.deletion.logitAucPerInput ?? [],
            insertion: random[role]?.insertion.logitAucPerInput ?? [],
          },
        };
      }
      const png = await picture({ data, standard, robust, maps, pictureMaps, predictions, shown, spec });
      const result: RobustSaliencyResult = {
        task: 'robust-saliency',
        schemaVersion: 1,
        backend: engineName(),
        data: { name: data.info.name, split: data.info.split, n, notes },
        target: 'label',
        models,
        faithfulness: faithOptions as FaithfulnessResult['options'],
        maps,
        seconds: (performance.now() - started) / 1000,
        notes,
      };
      return {
        result,
        artifacts: [
          jsonArtifact(RESULT_FILE, result),
          { name: PICTURE_FILE, mediaType: 'image/png', bytes: new Uint8Array(png) },
        ],
      };
    } finally {
      for (const s of Object.values(samples)) s.x.dispose();
      for (const s of Object.values(sources)) s.model.dispose();
    }
  },
};

/** The two models must see the same images and name the same classes for the maps to be compared. */
function checkComparable(standard: Classifier, robust: Classifier): void {
  const same = (a: readonly unknown[], b: readonly unknown[]): boolean =>
    a.length === b.length && a.every((v, i) => v === b[i]);
  if (!same(standard.inputShape, robust.inputShape)) {
    throw invalidArgument(
      `robust-saliency: the models take inputs of shape [${standard.inputShape.join(', ')}] and ` +
        `[${robust.inputShape.join(', ')}]; compare two models of the same inputs.`,
      { option: 'robust' },
    );
  }
  if (!same(standard.classNames, robust.classNames)) {
    throw invalidArgument(
      'robust-saliency: the models name different classes; compare two models of the same classes.',
      {
        option: 'robust',
      },
    );
  }
}

/**
 * A map's curve against its model's random order (see CurveScore). `cleanLast`: insertion, whose curve ends at
 * the clean image; deletion starts there.
 */
export function curveScore(
  map: FaithfulnessCurve,
  random: FaithfulnessCurve,
  cleanLast: boolean,
): CurveScore {
  const pooled = (c: FaithfulnessCurve): number => {
    let [above, span] = [0, 0];
    c.logits.forEach((z, i) => {
      const [clean, replaced] = cleanLast ? [z[z.length - 1], z[0]] : [z[0], z[z.length - 1]];
      above += c.logitAucPerInput[i] - replaced;
      span += clean - replaced;
    });
    return above / span;
  };
  const better = (mine: number, chance: number): boolean => (cleanLast ? mine > chance : mine < chance);
  const wins = map.logitAucPerInput.filter((v, i) => better(v, random.logitAucPerInput[i])).length;
  return {
    auc: pooled(map),
    random: pooled(random),
    beatsRandom: wins / map.logitAucPerInput.length,
    median: median(map.aucPerInput),
  };
}

function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Mean and standard error of the finite values. */
export function meanSe(values: readonly number[]): MeanSe {
  const v = values.filter((x) => Number.isFinite(x));
  const n = v.length;
  if (n === 0) return { mean: Number.NaN, se: Number.NaN, n: 0 };
  const mean = v.reduce((s, x) => s + x, 0) / n;
  const variance = n > 1 ? v.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, se: Math.sqrt(variance / n), n };
}

/**
 * The Sobel gradient magnitude of each image's luminance (0.299 R + 0.587 G + 0.114 B; one-channel images as
 * they are), borders replicated: [n * h * w], image after image. Its scale does not matter to a rank correlation.
 */
export async function edgeMaps(x: tf.Tensor4D): Promise<Float32Array> {
  const [n, h, w, c] = x.shape;
  const values = (await x.data()) as Float32Array;
  const out = new Float32Array(n * h * w);
  const grey = new Float32Array(h * w);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < h * w; p++) {
      const at = (i * h * w + p) * c;
      grey[p] = c === 1 ? values[at] : 0.299 * values[at] + 0.587 * values[at + 1] + 0.114 * values[at + 2];
    }
    const g = (y: number, x0: number): number =>
      grey[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x0))];
    for (let y = 0; y < h; y++) {
      for (let x0 = 0; x0 < w; x0++) {
        const gx =
          g(y - 1, x0 + 1) +
          2 * g(y, x0 + 1) +
          g(y + 1, x0 + 1) -
          g(y - 1, x0 - 1) -
          2 * g(y, x0 - 1) -
          g(y + 1, x0 - 1);
        const gy =
          g(y + 1, x0 - 1) +
          2 * g(y + 1, x0) +
          g(y + 1, x0 + 1) -
          g(y - 1, x0 - 1) -
          2 * g(y - 1, x0) -
          g(y - 1, x0 + 1);
        out[i * h * w + y * w + x0] = Math.hypot(gx, gy);
      }
    }
  }
  return out;
}

/** The first images with every map (render/node/explain-grid), captions with the scores. */
async function picture(o: {
  data: ModelSample;
  standard: ModelSource;
  robust: ModelSource;
  maps: readonly RobustSaliencyMap[];
  pictureMaps: readonly Float32Array[];
  predictions: Partial<Record<ModelRole, Int32Array>>;
  shown: number;
  spec: { sigma: number; samples: number };
}): Promise<Buffer> {
  const { data, standard, maps, pictureMaps, shown } = o;
  const model = standard.model;
  const [h, w, c] = model.inputShape;
  const size = h * w * c;
  const values = (await data.x.data()) as Float32Array;
  const names = model.classNames;
  const rows: ExplainGridRow[] = [];
  for (let i = 0; i < shown; i++) {
    rows.push({
      label:
        `test #${data.indices[i]}\nstd: ${names[o.predictions.standard?.[i] ?? 0]}\n` +
        `robust: ${names[o.predictions.robust?.[i] ?? 0]}`,
      image: imageFromValues(values.subarray(i * size, (i + 1) * size), [h, w, c], model.bounds),
      caption: names[data.labels[i]],
      maps: maps.map((m, j) => ({
        values: pictureMaps[j].subarray(i * size, (i + 1) * size),
        channels: c,
        display: mapDisplay(m.method, 'pixel'),
        caption: `edge ${fmt(m.perImage.edgeAlignment[i])}`,
      })),
    });
  }
  return renderExplainGrid({
    title: `Saliency for the true class: ${standard.name} (std) and ${o.robust.name}`,
    legend: `SmoothGrad: ${o.spec.samples} samples, sigma ${o.spec.sigma}; under the maps: Spearman with Sobel edges`,
    inputColumn: 'image, label',
    methods: MAPS.map((m) => m.column),
    rows,
  });
}

const fmt = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : '-');
