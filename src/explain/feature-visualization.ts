import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError, invalidArgument } from '../errors.js';
import { CountedModel, type Cost } from '../models/counted-model.js';
import type { Model } from '../models/model.js';
import { MAX_SEED, Rng } from '../util/rng.js';
import { field, parseParams, type Params, type ParamsInput } from '../util/schema.js';
import { gaussianBlur } from './gaussian-blur.js';

/** The noise an optimization starts from when no start image is given. */
export const VISUALIZATION_NOISE = ['gaussian', 'uniform'] as const;
export type VisualizationNoise = (typeof VISUALIZATION_NOISE)[number];

/** The options of feature visualization; budgets and step sizes are in input units (L2 over all values). */
export const featureVisualizationSchema = {
  steps: field.integer({ default: 200, min: 1, description: 'gradient steps' }),
  stepSize: field.number({
    default: 1,
    min: 0,
    exclusiveMin: true,
    description: 'L2 length of each step, in input units (the gradient is normalized to this length)',
  }),
  eps: field.number({
    min: 0,
    exclusiveMin: true,
    description:
      'radius of the L2 ball around the start that the image stays in (default: no ball, the bounds only)',
  }),
  jitter: field.integer({
    default: 0,
    min: 0,
    description:
      'each step, roll the image by up to this many pixels both ways (seeded), so that no pixel grid is fit',
  }),
  blurEvery: field.integer({
    default: 0,
    min: 0,
    description: 'blur the image every this many steps (0: never)',
  }),
  blurSigma: field.number({
    default: 0.5,
    min: 0,
    exclusiveMin: true,
    description: 'standard deviation of that blur, in pixels',
  }),
  noise: field.choice(VISUALIZATION_NOISE, {
    default: 'gaussian',
    description:
      'start without a start image: gaussian = mid-grey plus N(0, (0.05 range)^2) noise, clipped (robustness); ' +
      'uniform = uniform over the bounds',
  }),
  seed: field.integer({
    default: 0,
    min: 0,
    max: MAX_SEED,
    description: 'seed of the noise start and the jitter',
  }),
};

export type FeatureVisualizationParams = Params<typeof featureVisualizationSchema>;

/**
 * What each image maximizes: the logit of a class (never its probability: a softmax is raised as well by
 * lowering the other classes), or the spatial mean of one channel of a named 4-D activation. One image per entry.
 */
export type FeatureTarget =
  | { kind: 'class'; classes: readonly number[] }
  | { kind: 'channel'; layer: string; channels: readonly number[] };

export interface VisualizationStep {
  /** Steps done (1-based). */
  step: number;
  steps: number;
  /** Mean objective over the images at this step's (jittered) input, before the step. */
  objective: number;
}

export interface FeatureVisualizationOptions extends ParamsInput<typeof featureVisualizationSchema> {
  /** Images to start from, [n, h, w, c] or one image [1, h, w, c] for every target (not disposed). */
  start?: tf.Tensor4D;
  signal?: AbortSignal;
  onStep?: (step: VisualizationStep) => void;
}

export interface FeatureVisualization {
  /** The optimized images [n, h, w, c], within the bounds (the caller disposes). */
  images: tf.Tensor4D;
  /** Each image's objective (class logit or channel mean) at the end, without jitter. */
  objective: Float32Array;
  /** The mean objective at each step, as in VisualizationStep: a curve that should climb. */
  trace: number[];
  /** Gradients and forward passes spent, per image. */
  cost: Cost;
  /** The options used, defaults filled in. */
  params: FeatureVisualizationParams;
}

/** Per-image objective and its input gradient at x (the caller disposes both). */
interface ObjectivePass {
  values: tf.Tensor1D;
  grad: tf.Tensor4D;
}

type Objective = {
  gradient(x: tf.Tensor4D): ObjectivePass;
  values(x: tf.Tensor4D): tf.Tensor1D;
};

/**
 * Feature visualization by projected gradient ascent in input space, as in the MadryLab `robustness` library
 * (Santurkar, Tsipras, Tran, Ilyas, Engstrom & Madry 2019, "Image Synthesis with a Single (Robust)
 * Classifier"; Engstrom, Ilyas, Santurkar, Tsipras, Tran & Madry 2019, "Adversarial Robustness as a Prior for
 * Learned Representations"): from seeded noise or a given image x0, repeat x <- x + stepSize * g / ||g||_2 (g the
 * gradient of the class logit, or of the spatial mean of one channel of a layer), then project onto the L2 ball
 * of radius eps around x0 and clamp to the model's bounds. The noise start is robustness's seed, mid-grey plus
 * N(0, 0.05^2) noise on [0, 1] (its generation examples fit a class-conditional Gaussian to data instead). On
 * robust models the images look like the class; on standard models they look like noise, which is the point.
 * For standard models, `jitter` (a random roll each step, undone on the gradient) and `blur` (every
 * `blurEvery` steps, Gaussian of `blurSigma` pixels) are the usual regularizers (Olah, Mordvintsev & Schubert
 * 2017, "Feature Visualization", Distill).
 *
 * Parameters (defaults): steps 200, stepSize 1, eps none, jitter 0, blurEvery 0, blurSigma 0.5,
 * noise 'gaussian', seed 0. The same seed gives the same images.
 *
 * @example visualizeFeatures(model, { kind: 'class', classes: [0, 3] }, { steps: 200, stepSize: 1, eps: 40 })
 */
export async function visualizeFeatures(
  model: Model,
  target: FeatureTarget,
  options: FeatureVisualizationOptions = {},
): Promise<FeatureVisualization> {
  const { start, signal, onStep, ...given } = options;
  const p = parseParams(featureVisualizationSchema, given, 'visualizeFeatures');
  const counted = new CountedModel(model);
  const objective = objectiveFor(counted, target);
  const n = target.kind === 'class' ? target.classes.length : target.channels.length;
  const rng = new Rng(p.seed);
  const x0 = startImages(model, n, start, p.noise, rng);
  let x = tf.clone(x0);
  const trace: number[] = [];
  try {
    for (let step = 1; step <= p.steps; step++) {
      if (signal?.aborted === true)
        throw new AdvkitError('ABORTED', 'The feature visualization was cancelled.');
      const shift =
        p.jitter > 0 ? [rng.int(2 * p.jitter + 1) - p.jitter, rng.int(2 * p.jitter + 1) - p.jitter] : [0, 0];
      const blur = p.blurEvery > 0 && step % p.blurEvery === 0;
      const { next, mean } = ascend(x, x0, objective, { shift, blur, params: p, bounds: model.bounds });
      x.dispose();
      x = next;
      trace.push(mean);
      onStep?.({ step, steps: p.steps, objective: mean });
      // Lets the event loop run: progress is drawn and Ctrl-C reaches the signal.
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
    }
    const final = objective.values(x);
    const values = Float32Array.from(await final.data());
    final.dispose();
    return { images: x, objective: values, trace, cost: { ...counted.cost }, params: p };
  } catch (err) {
    x.dispose();
    throw err;
  } finally {
    x0.dispose();
  }
}

/** One step: the normalized gradient of the (rolled) objective, an optional blur, then the projection. */
function ascend(
  x: tf.Tensor4D,
  x0: tf.Tensor4D,
  objective: Objective,
  s: {
    shift: number[];
    blur: boolean;
    params: FeatureVisualizationParams;
    bounds: readonly [number, number];
  },
): { next: tf.Tensor4D; mean: number } {
  const [dy, dx] = s.shift;
  const rolled = roll(x, dy, dx);
  const pass = objective.gradient(rolled);
  rolled.dispose();
  const mean = Array.from(pass.values.dataSync()).reduce((a, v) => a + v, 0) / pass.values.size;
  const next = tf.tidy(() => {
    // The roll is a permutation of the pixels: rolling the gradient back gives the gradient at x.
    const g = roll(pass.grad, -dy, -dx);
    let moved = tf.add<tf.Tensor4D>(x, tf.mul(normalizeL2(g), s.params.stepSize));
    if (s.blur) moved = gaussianBlur(moved, s.params.blurSigma);
    return project(moved, x0, s.params.eps, s.bounds);
  });
  tf.dispose([pass.values, pass.grad]);
  return { next, mean };
}

/** Each row divided by its L2 norm (a zero gradient stays zero). */
function normalizeL2(g: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.sum(tf.square(g), [1, 2, 3], true));
    return tf.div<tf.Tensor4D>(g, tf.maximum(norm, 1e-12));
  });
}

/** x moved back into the L2 ball of radius eps around x0 (when eps is given), then clamped to the bounds. */
function project(
  x: tf.Tensor4D,
  x0: tf.Tensor4D,
  eps: number | undefined,
  [lo, hi]: readonly [number, number],
): tf.Tensor4D {
  return tf.tidy(() => {
    if (eps === undefined) return tf.clipByValue(x, lo, hi);
    const delta = tf.sub(x, x0);
    const norm = tf.sqrt(tf.sum(tf.square(delta), [1, 2, 3], true));
    const scale = tf.minimum(1, tf.div(eps, tf.maximum(norm, 1e-12)));
    return tf.clipByValue(tf.add<tf.Tensor4D>(x0, tf.mul(delta, scale)), lo, hi);
  });
}

/** x rolled by dy rows and dx columns, wrapping around (out[i] = x[i - dy]). */
export function roll(x: tf.Tensor4D, dy: number, dx: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  const sy = ((dy % h) + h) % h;
  const sx = ((dx % w) + w) % w;
  if (sy === 0 && sx === 0) return tf.clone(x);
  return tf.tidy(() => {
    let out: tf.Tensor4D = x;
    if (sy !== 0) {
      const [top, bottom] = tf.split<tf.Tensor4D>(out, [h - sy, sy], 1);
      out = tf.concat4d([bottom, top], 1);
    }
    if (sx !== 0) {
      const [left, right] = tf.split<tf.Tensor4D>(out, [w - sx, sx], 2);
      out = tf.concat4d([right, left], 2);
    }
    return out;
  });
}

/** The start: the given images (tiled when one is given for all), or seeded noise within the bounds. */
function startImages(
  model: Model,
  n: number,
  start: tf.Tensor4D | undefined,
  noise: VisualizationNoise,
  rng: Rng,
): tf.Tensor4D {
  const [h, w, c] = model.inputShape;
  const [lo, hi] = model.bounds;
  if (start !== undefined) {
    const [m, sh, sw, sc] = start.shape;
    if (sh !== h || sw !== w || sc !== c || (m !== n && m !== 1)) {
      throw invalidArgument(
        `visualizeFeatures: the start must be [${n}, ${h}, ${w}, ${c}] or [1, ${h}, ${w}, ${c}] (the model's ` +
          `input), got [${start.shape.join(', ')}].`,
        { option: 'start' },
      );
    }
    return tf.tidy(() => tf.clipByValue(m === n ? start : tf.tile(start, [n, 1, 1, 1]), lo, hi));
  }
  const values = new Float32Array(n * h * w * c);
  const mid = (lo + hi) / 2;
  const std = 0.05 * (hi - lo);
  for (let i = 0; i < values.length; i++) {
    const v = noise === 'gaussian' ? mid + std * rng.normal() : lo + (hi - lo) * rng.next();
    values[i] = Math.min(hi, Math.max(lo, v));
  }
  return tf.tensor4d(values, [n, h, w, c]);
}

/** The objective's value and gradient through the model: a class logit, or a channel's spatial mean. */
function objectiveFor(counted: CountedModel, target: FeatureTarget): Objective {
  const model = counted.model;
  if (target.kind === 'class') {
    checkIndices(target.classes, model.numClasses, 'class', `the model's ${model.numClasses} classes`);
    const targets = Int32Array.from(target.classes);
    const pick = (logits: tf.Tensor2D): tf.Tensor1D =>
      tf.tidy(() => tf.sum(tf.mul(logits, tf.oneHot(tf.tensor1d(targets, 'int32'), logits.shape[1])), 1));
    return {
      gradient: (x) => {
        const pass = counted.gradient(x, pick);
        pass.logits.dispose();
        return { values: pass.loss, grad: pass.grad };
      },
      values: (x) => tf.tidy(() => pick(counted.logits(x))),
    };
  }
  const access = model.activations;
  if (access === undefined) {
    throw new AdvkitError(
      'UNSUPPORTED',
      `visualizeFeatures: a channel objective reads the activation of layer '${target.layer}', but this model ` +
        'exposes no intermediate activations (a black box or a served model); maximize a class logit instead.',
    );
  }
  const layer = access.layer(target.layer);
  const channelCount = layer.shape[2];
  checkIndices(target.channels, channelCount, 'channel', `layer '${layer.name}''s ${channelCount} channels`);
  const channels = Int32Array.from(target.channels);
  const [lh, lw] = layer.shape;
  /**
   * The per-image mean of its channel over the layer's positions, from one tapped forward pass. It is computed
   * inside the tap and kept, because the model disposes the activation when its forward pass ends.
   */
  const channelMeans = (x: tf.Tensor4D): tf.Tensor1D => {
    let means: tf.Tensor1D | undefined;
    const logits = access.logits(x, layer.name, (a) => {
      const mask = tf.reshape(tf.oneHot(tf.tensor1d(channels, 'int32'), channelCount), [
        channels.length,
        1,
        1,
        channelCount,
      ]);
      means = tf.keep(tf.div<tf.Tensor1D>(tf.sum(tf.mul(a, mask), [1, 2, 3]), lh * lw));
      return a;
    });
    logits.dispose();
    if (means === undefined) {
      throw new AdvkitError('INTERNAL', `Layer '${layer.name}' was not reached in the forward pass.`);
    }
    return means;
  };
  return {
    gradient: (x) => {
      counted.cost.gradients += x.shape[0];
      counted.cost.queries += x.shape[0];
      let values: tf.Tensor1D | undefined;
      const grad = tf.grad((input: tf.Tensor) => {
        values = channelMeans(tf.reshape<tf.Rank.R4>(input, x.shape));
        return tf.sum(values);
      })(x);
      if (values === undefined)
        throw new AdvkitError('INTERNAL', 'The gradient function did not run its forward pass.');
      // tf.grad returns a tensor of x's shape.
      return { values, grad: grad as tf.Tensor4D };
    },
    values: (x) => {
      counted.cost.queries += x.shape[0];
      return channelMeans(x);
    },
  };
}

function checkIndices(indices: readonly number[], count: number, what: string, of: string): void {
  if (indices.length === 0) throw invalidArgument(`visualizeFeatures: give at least one ${what}.`);
  const bad = indices.find((i) => !Number.isInteger(i) || i < 0 || i >= count);
  if (bad !== undefined) {
    throw invalidArgument(`visualizeFeatures: ${what} ${bad} is not one of ${of} (0 to ${count - 1}).`);
  }
}
