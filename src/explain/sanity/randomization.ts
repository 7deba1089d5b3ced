import { invalidArgument } from '../../errors.js';
import type { Cost } from '../../models/counted-model.js';
import type { Model } from '../../models/model.js';
import { RandomizableCopy } from '../../models/randomize-layers.js';
import { checkSeed } from '../../util/rng.js';
import type { Schema } from '../../util/schema.js';
import { throwIfAborted } from '../attribution-context.js';
import { explain, type Attribution, type ExplainOptions } from '../explain.js';
import { getMethod } from '../registry.js';
import type { AttributionMethod } from '../types.js';
import { pixelScores } from './pixel-scores.js';
import { spearman } from './rank-correlation.js';

/**
 * 'cascade': the layers are re-drawn cumulatively from the top (the logits) down, so step k has the top k
 * layers random (Adebayo et al.'s cascading randomization); 'independent': one layer at a time, the others
 * trained.
 */
export type RandomizationMode = 'cascade' | 'independent';

/**
 * The map at full randomization must keep a mean |Spearman| of its absolute values below this to pass. On the
 * bundled MNIST CNN (8 test digits, full cascade) the methods that depend on the weights fall to 0.14-0.27
 * (saliency 0.20, SmoothGrad 0.14, SmoothGrad-squared 0.27, Grad-CAM 0.24, occlusion 0.14) while Gradient x
 * Input and Integrated Gradients stay at 0.99: their absolute maps are zero wherever the digit's background is,
 * whatever the weights. 0.5 lies well between. Adebayo et al. (2018) found the same split on ImageNet models:
 * the gradient and Grad-CAM decorrelate, the methods that multiply by the input keep its structure.
 */
export const RANDOMIZATION_THRESHOLD = 0.5;

/**
 * At or above this mean Spearman of the absolute maps, at full randomization (and for the signed maps too),
 * the maps did not change when the weights did: the method does not explain the model (an edge detector).
 */
export const WEIGHT_INDEPENDENCE_THRESHOLD = 0.9;

export interface RandomizationOptions extends Omit<ExplainOptions, 'onProgress'> {
  /** 'cascade' (default) or 'independent'. */
  mode?: RandomizationMode;
  /**
   * The layers after whose re-draw the maps are compared (default: every layer with weights). In a cascade the
   * layers between them are re-drawn too, and the test stops at the lowest one named.
   */
  layers?: readonly string[];
  /** The pass threshold on the mean |Spearman| of the absolute maps (default RANDOMIZATION_THRESHOLD). */
  threshold?: number;
  onProgress?: (progress: RandomizationProgress) => void;
}

export interface RandomizationProgress {
  method: string;
  /** The layer just re-drawn; undefined while the trained model is explained. */
  layer: string | undefined;
  /** Fraction 0..1 of the steps done. */
  fraction: number;
}

/** The maps after one step, compared with the trained model's. */
export interface RandomizationStep {
  /** The layer re-drawn at this step. */
  layer: string;
  /** Its class ('Conv2D', 'Dense'). */
  kind: string;
  /** Every layer random at this step, top down (in a cascade, the layers above `layer` too). */
  randomized: string[];
  /** Spearman's rank correlation with the trained model's map (signed maps), mean over the inputs. */
  spearman: number;
  /** The same for the absolute maps (Adebayo et al.'s main measure), mean over the inputs. */
  spearmanAbs: number;
  spearmanPerInput: number[];
  spearmanAbsPerInput: number[];
}

/** The model-parameter randomization test of one method. */
export interface RandomizationResult {
  method: string;
  mode: RandomizationMode;
  /** The class explained per input: the trained model's, kept for every randomized copy. */
  targets: number[];
  steps: RandomizationStep[];
  /**
   * The verdict's measure: the mean over the inputs of |Spearman| of the absolute maps, at the last step of a
   * cascade (full randomization when it reaches the bottom layer) or at the step that changed the maps most
   * (independent).
   */
  measure: number;
  threshold: number;
  /** measure < threshold: the map depends on the learned weights. */
  passed: boolean;
  /**
   * The maps did not change with the weights (mean Spearman of the absolute and of the signed maps at or above
   * WEIGHT_INDEPENDENCE_THRESHOLD): the method shows the input, not the model.
   */
  flagged: boolean;
  /** One sentence for reports. */
  detail: string;
  seed: number;
  /** Gradients and queries spent, over the trained model and every step. */
  cost: Cost;
}

interface Reference {
  signed: Float32Array;
  abs: Float32Array;
  pixels: number;
}

function scoresOf(a: Attribution): Reference {
  const [, h, w] = a.maps.shape;
  return { signed: pixelScores(a.maps, 'signed'), abs: pixelScores(a.maps, 'abs'), pixels: h * w };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function compare(
  reference: Reference,
  maps: Reference,
  n: number,
): Pick<RandomizationStep, 'spearman' | 'spearmanAbs' | 'spearmanPerInput' | 'spearmanAbsPerInput'> {
  const row = (t: Float32Array, i: number) => t.subarray(i * reference.pixels, (i + 1) * reference.pixels);
  const spearmanPerInput = Array.from({ length: n }, (_, i) =>
    spearman(row(reference.signed, i), row(maps.signed, i)),
  );
  const spearmanAbsPerInput = Array.from({ length: n }, (_, i) =>
    spearman(row(reference.abs, i), row(maps.abs, i)),
  );
  return {
    spearman: mean(spearmanPerInput),
    spearmanAbs: mean(spearmanAbsPerInput),
    spearmanPerInput,
    spearmanAbsPerInput,
  };
}

function chooseLayers(copy: RandomizableCopy, wanted: readonly string[] | undefined): Set<string> {
  const all = copy.layers.map((l) => l.name);
  if (wanted === undefined) return new Set(all);
  if (wanted.length === 0)
    throw invalidArgument('randomizationTest: layers is empty; name at least one layer.');
  for (const name of wanted) {
    if (!all.includes(name)) {
      throw invalidArgument(
        `randomizationTest: '${name}' is not a layer with weights. Layers with weights, top down: ${all.join(', ')}.`,
      );
    }
  }
  return new Set(wanted);
}

const fmt = (v: number): string => v.toFixed(2);

function verdict(
  method: string,
  mode: RandomizationMode,
  steps: RandomizationStep[],
  threshold: number,
): Pick<RandomizationResult, 'measure' | 'passed' | 'flagged' | 'detail'> {
  const measured = (s: RandomizationStep): number => mean(s.spearmanAbsPerInput.map(Math.abs));
  const judged =
    mode === 'cascade'
      ? steps[steps.length - 1]
      : steps.reduce((a, b) => (measured(b) < measured(a) ? b : a));
  const measure = measured(judged);
  const passed = measure < threshold;
  const flagged =
    judged.spearmanAbs >= WEIGHT_INDEPENDENCE_THRESHOLD && judged.spearman >= WEIGHT_INDEPENDENCE_THRESHOLD;
  const where =
    mode === 'cascade'
      ? `with ${judged.randomized.length === 1 ? 'layer' : 'layers'} ${judged.randomized.join(', ')} re-drawn`
      : `with layer ${judged.layer} re-drawn (the layer that changed the maps most)`;
  const state = flagged
    ? `does not depend on the model's weights: its maps stay the same (Spearman ${fmt(judged.spearmanAbs)} of the ` +
      `absolute maps, ${fmt(judged.spearman)} signed) ${where}; it shows the input, not what the model learned`
    : passed
      ? `passes: ${where}, its maps decorrelate from the trained model's (mean |Spearman| ${fmt(measure)} of the ` +
        `absolute maps, below ${threshold})`
      : `fails: ${where}, its maps still resemble the trained model's (mean |Spearman| ${fmt(measure)} of the ` +
        `absolute maps, not below ${threshold}), so they owe much to the input itself`;
  return { measure, passed: passed && !flagged, flagged, detail: `${method} ${state}.` };
}

/**
 * The model-parameter randomization test (Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim 2018, "Sanity
 * Checks for Saliency Maps", section 3.1): an explanation of what a model learned must change when the
 * model's learned weights are destroyed. A copy of the model (the caller's model is never touched) has its
 * layers re-drawn at random from the top (the logits) down, cumulatively ('cascade', the default) or one at a
 * time ('independent'); after each step the method explains the same inputs for the same classes (the trained
 * model's targets, even where the random model predicts otherwise) with the same seed, and each map is
 * compared with the trained model's by Spearman's rank correlation, of the absolute maps (Adebayo et al.'s main
 * measure) and of the signed ones, averaged over the inputs. Pixel maps are summed over their channels first.
 * Re-drawn weights keep each tensor's trained mean and standard deviation (`RandomizableCopy.randomize`).
 *
 * The verdict: `passed` when the mean |Spearman| of the absolute maps at full randomization falls below
 * `threshold` (RANDOMIZATION_THRESHOLD, 0.5, chosen from the measurements it lists); `flagged` when the maps
 * hardly change at all (WEIGHT_INDEPENDENCE_THRESHOLD, absolute and signed): the method is an edge detector in
 * disguise. Methods that multiply by the input (Gradient x Input, Integrated Gradients) fail without being
 * flagged: their absolute maps keep the input's support, their signed maps decorrelate.
 *
 * Needs a classifier backed by a tfjs layers model (UNSUPPORTED otherwise: a graph model, a black box).
 * Cost: (1 + steps) runs of the method. Leaves no tensor behind.
 *
 * @example const r = await randomizationTest(model, 'saliency', { x }); r.passed; r.steps[0].spearmanAbs
 */
export async function randomizationTest(
  model: Model,
  method: AttributionMethod<Schema> | string,
  opts: RandomizationOptions,
): Promise<RandomizationResult> {
  const m = typeof method === 'string' ? getMethod(method) : method;
  const mode = opts.mode ?? 'cascade';
  if (mode !== 'cascade' && mode !== 'independent') {
    throw invalidArgument(
      `randomizationTest: mode must be 'cascade' or 'independent', got ${JSON.stringify(mode)}.`,
    );
  }
  const threshold = opts.threshold ?? RANDOMIZATION_THRESHOLD;
  if (!(threshold > 0 && threshold <= 1)) {
    throw invalidArgument(`randomizationTest: threshold must be a number in (0, 1], got ${threshold}.`);
  }
  const seed = checkSeed(opts.seed ?? 0);
  const explainOpts: ExplainOptions = {
    x: opts.x,
    target: opts.target,
    labels: opts.labels,
    params: opts.params,
    layer: opts.layer,
    batchSize: opts.batchSize,
    signal: opts.signal,
    seed,
  };
  const progress = (layer: string | undefined, fraction: number): void =>
    opts.onProgress?.({ method: m.name, layer, fraction });
  const copy = await RandomizableCopy.of(model, 'The model-parameter randomization test');
  try {
    const wanted = chooseLayers(copy, opts.layers);
    const trained = await explain(model, m, explainOpts);
    const targets = trained.targets;
    const cost: Cost = { ...trained.cost };
    let reference: Reference;
    try {
      reference = scoresOf(trained);
    } finally {
      trained.maps.dispose();
    }
    const n = targets.length;
    const steps: RandomizationStep[] = [];
    const order = copy.layers.map((l) => l.name);
    const last =
      mode === 'cascade'
        ? Math.max(...order.map((name, i) => (wanted.has(name) ? i : -1)))
        : order.length - 1;
    progress(undefined, 0);
    const randomized: string[] = [];
    for (let i = 0; i <= last; i++) {
      const layer = copy.layers[i];
      if (mode === 'independent' && !wanted.has(layer.name)) continue;
      throwIfAborted(opts.signal);
      copy.randomize(layer.name, seed);
      randomized.push(layer.name);
      if (wanted.has(layer.name)) {
        const a = await explain(copy.model, m, { ...explainOpts, target: targets, labels: undefined });
        cost.gradients += a.cost.gradients;
        cost.queries += a.cost.queries;
        let maps: Reference;
        try {
          maps = scoresOf(a);
        } finally {
          a.maps.dispose();
        }
        steps.push({
          layer: layer.name,
          kind: layer.kind,
          randomized: [...randomized],
          ...compare(reference, maps, n),
        });
      }
      if (mode === 'independent') {
        copy.restore(layer.name);
        randomized.pop();
      }
      progress(layer.name, (i + 1) / (last + 1));
    }
    return {
      method: m.name,
      mode,
      targets: Array.from(targets),
      steps,
      threshold,
      ...verdict(m.name, mode, steps, threshold),
      seed,
      cost,
    };
  } finally {
    copy.dispose();
  }
}
