import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { engineName } from '../backend/backend.js';
import { AdvkitError, invalidArgument } from '../errors.js';
import {
  visualizeFeatures,
  type FeatureTarget,
  type FeatureVisualizationParams,
} from '../explain/feature-visualization.js';
import { classIndex } from '../explain/targets.js';
import type { Classifier } from '../models/classifier.js';
import { renderImageGrid, type GridRow } from '../render/node/image-grid.js';
import { imageFromValues } from '../render/pixel-image.js';
import { loadImageInputs } from './model-data.js';
import { openModel } from './model-source.js';
import { parseSpec } from './spec.js';
import type { Task, TaskContext, TaskResult } from './task.js';
import { VISUALIZE_DEFAULT_COLUMNS, VISUALIZE_DEFAULT_MODELS, visualizeSchema } from './visualize-spec.js';

/** One picture: what it maximized, how far it got, and what the model makes of it. */
export interface VisualizedCell {
  /** The class (class objective) or the channel (channel objective) maximized. */
  index: number;
  name: string;
  /** The final value of what was maximized: the class logit, or the channel's spatial mean activation. */
  objective: number;
  /** The model's prediction for the picture and its probability. */
  predicted: { index: number; name: string };
  probability: number;
  /** Class objective: the probability of the class maximized. */
  targetProbability?: number;
}

/** One row of the picture: a model and its pictures, one per column. */
export interface VisualizedModel {
  name: string;
  /** The model's directory. */
  dir: string;
  seconds: number;
  /** Image gradients spent. */
  gradients: number;
  cells: VisualizedCell[];
}

export interface VisualizeResult extends TaskResult {
  task: 'visualize';
  backend: string;
  /** What each picture maximizes: a class logit, or a channel of `layer`. */
  objective: 'class' | 'channel';
  layer?: string;
  /** The columns as the first model names them. */
  columns: string[];
  /** 'noise', 'uniform' or the start image's path. */
  start: string;
  /** The optimization's options, defaults filled in. */
  options: Omit<FeatureVisualizationParams, 'noise'>;
  models: VisualizedModel[];
}

export type VisualizeProgress =
  | { stage: 'model'; model: string; index: number; models: number; steps: number; columns: number }
  | { stage: 'step'; model: string; step: number; steps: number; objective: number };

/** The objective of one model: the targets per column, and their names. */
interface Columns {
  target: FeatureTarget;
  indices: number[];
  names: string[];
}

/**
 * Feature visualization of several models side by side (see explain/feature-visualization.ts for the method
 * and its papers): per model, one image per class (the class logit maximized) or per channel of a layer (its
 * spatial mean maximized), all from the same seeded start. The artifact 'visualize.png' has a row per model and
 * a column per class; on the bundled CIFAR-10 CNNs the robust model's images look like the classes and the
 * standard model's like noise.
 */
export const visualizeTask: Task<typeof visualizeSchema, VisualizeResult, VisualizeProgress> = {
  name: 'visualize',
  title: 'Feature visualization: images that maximize a class logit or a channel, a row per model',
  schema: visualizeSchema,
  async run(input, ctx: TaskContext<VisualizeProgress> = {}) {
    const spec = parseSpec(visualizeSchema, input, 'visualize');
    const refs = listValues(spec.model, 'model').map(String);
    const modelRefs = refs.length > 0 ? refs : [...VISUALIZE_DEFAULT_MODELS];
    if (spec.model !== undefined && refs.length === 0) {
      throw invalidArgument(
        "visualize: 'model' names no model; give directories or bundled names, comma-separated.",
        {
          option: 'model',
        },
      );
    }
    if (spec.layer === undefined && spec.channels !== undefined) {
      throw invalidArgument("visualize: 'channels' are channels of a layer; give 'layer' too.", {
        option: 'channels',
      });
    }
    if (spec.layer !== undefined && spec.classes !== undefined) {
      throw invalidArgument(
        "visualize: give either 'classes' (class logits) or 'layer' (channels), not both.",
        {
          option: 'classes',
        },
      );
    }
    const noiseStart = spec.start === 'noise' || spec.start === 'uniform';
    if (!noiseStart && !existsSync(spec.start)) {
      throw new AdvkitError(
        'NOT_FOUND',
        `visualize: 'start' is 'noise', 'uniform' or an image file; ${spec.start} does not exist.`,
        { option: 'start' },
      );
    }
    const { start, labels, classes, layer, channels } = spec;
    const options: VisualizeResult['options'] = {
      steps: spec.steps,
      stepSize: spec.stepSize,
      eps: spec.eps,
      jitter: spec.jitter,
      blurEvery: spec.blurEvery,
      blurSigma: spec.blurSigma,
      seed: spec.seed,
    };
    const rows: GridRow[] = [];
    const models: VisualizedModel[] = [];
    let columnNames: string[] | undefined;
    for (const [m, ref] of modelRefs.entries()) {
      const source = await openModel(ref, { defaultName: ref, labels });
      const model = source.model;
      let startImage: tf.Tensor4D | undefined;
      try {
        const cols = columnsFor(model, source.name, { classes, layer, channels });
        columnNames ??= cols.names;
        if (cols.indices.length !== columnNames.length) {
          throw invalidArgument(
            `visualize: ${source.name} has ${cols.indices.length} columns, ${modelRefs[0]} ${columnNames.length}; ` +
              `name the ${layer === undefined ? 'classes' : 'channels'} so that every model has the same.`,
          );
        }
        startImage = noiseStart ? undefined : await loadImageInputs(model, [start]);
        ctx.onProgress?.({
          stage: 'model',
          model: source.name,
          index: m,
          models: modelRefs.length,
          steps: options.steps,
          columns: cols.indices.length,
        });
        const began = Date.now();
        const vis = await visualizeFeatures(model, cols.target, {
          ...options,
          noise: start === 'uniform' ? 'uniform' : 'gaussian',
          ...(startImage !== undefined ? { start: startImage } : {}),
          signal: ctx.signal,
          onStep: (s) => ctx.onProgress?.({ stage: 'step', model: source.name, ...s }),
        });
        const seconds = (Date.now() - began) / 1000;
        const probs = model.predict(vis.images);
        const [p, values] = await Promise.all([probs.array(), vis.images.data()]);
        tf.dispose([probs, vis.images]);
        const cells = cols.indices.map((index, i): VisualizedCell => {
          const row = p[i];
          const predicted = row.indexOf(Math.max(...row));
          return {
            index,
            name: cols.names[i],
            objective: vis.objective[i],
            predicted: { index: predicted, name: model.classNames[predicted] },
            probability: row[predicted],
            ...(cols.target.kind === 'class' ? { targetProbability: row[index] } : {}),
          };
        });
        models.push({ name: source.name, dir: source.dir, seconds, gradients: vis.cost.gradients, cells });
        const size = model.inputShape[0] * model.inputShape[1] * model.inputShape[2];
        rows.push({
          label: source.name,
          cells: cells.map((cell, i) => ({
            image: imageFromValues(values.subarray(i * size, (i + 1) * size), model.inputShape, model.bounds),
            caption: `${cell.predicted.name} ${(100 * cell.probability).toFixed(0)}%`,
          })),
        });
      } finally {
        startImage?.dispose();
        model.dispose();
      }
    }
    const columns = columnNames ?? [];
    const png = await renderImageGrid({
      title:
        layer === undefined
          ? `Images that maximize each class logit, from ${startText(start)}`
          : `Images that maximize channels of layer ${layer}, from ${startText(start)}`,
      legend:
        `${options.steps} L2 steps of ${options.stepSize}` +
        (options.eps !== undefined ? `, within L2 ${options.eps} of the start` : '') +
        (options.jitter > 0 ? `, jitter ${options.jitter} px` : '') +
        (options.blurEvery > 0 ? `, blur sigma ${options.blurSigma} every ${options.blurEvery} steps` : '') +
        `, seed ${options.seed}; under each: the model's prediction`,
      columns,
      rows,
    });
    return {
      result: {
        task: 'visualize',
        schemaVersion: 1,
        backend: engineName(),
        objective: layer === undefined ? 'class' : 'channel',
        ...(layer !== undefined ? { layer } : {}),
        columns,
        start,
        options,
        models,
      },
      artifacts: [{ name: 'visualize.png', mediaType: 'image/png', bytes: new Uint8Array(png) }],
    };
  },
};

function startText(start: string): string {
  if (start === 'noise') return 'grey plus Gaussian noise';
  if (start === 'uniform') return 'uniform noise';
  return start;
}

/** A comma-separated text or a JSON list as its non-empty items. */
function listValues(
  value: string | readonly (string | number)[] | undefined,
  option: string,
): (string | number)[] {
  if (value === undefined) return [];
  const items = typeof value === 'string' ? value.split(',') : [...value];
  const out = items.map((v) => (typeof v === 'string' ? v.trim() : v)).filter((v) => v !== '');
  if (out.length === 0) throw invalidArgument(`visualize: '${option}' is empty.`, { option });
  return out;
}

/** The targets of one model: the classes or channels asked for (default: the first ten), checked against it. */
function columnsFor(
  model: Classifier,
  modelName: string,
  spec: {
    classes?: string | readonly (string | number)[];
    layer?: string;
    channels?: string | readonly (string | number)[];
  },
): Columns {
  if (spec.layer === undefined) {
    const given = listValues(spec.classes, 'classes');
    const indices =
      given.length > 0
        ? given.map((v) => classOf(model, v, modelName))
        : Array.from({ length: Math.min(VISUALIZE_DEFAULT_COLUMNS, model.numClasses) }, (_, i) => i);
    return {
      target: { kind: 'class', classes: indices },
      indices,
      names: indices.map((i) => model.classNames[i]),
    };
  }
  const activations = model.activations;
  const layerName = spec.layer;
  if (activations === undefined) {
    throw new AdvkitError(
      'UNSUPPORTED',
      `visualize: ${modelName} exposes no intermediate activations, so layer '${spec.layer}' cannot be read; ` +
        'visualize its classes instead.',
      { option: 'layer' },
    );
  }
  const layer = naming(modelName, 'layer', () => activations.layer(layerName));
  const count = layer.shape[2];
  const given = listValues(spec.channels, 'channels');
  const indices =
    given.length > 0
      ? given.map((v) => channelIndex(v, count, layer.name, modelName))
      : Array.from({ length: Math.min(VISUALIZE_DEFAULT_COLUMNS, count) }, (_, i) => i);
  return {
    target: { kind: 'channel', layer: layer.name, channels: indices },
    indices,
    names: indices.map((i) => `channel ${i}`),
  };
}

/** A class given by name or index, checked by explain's one class parser. */
function classOf(model: Classifier, value: string | number, modelName: string): number {
  return naming(modelName, 'classes', () => classIndex(model, value));
}

/** `lookup`'s answer; its error, which lists what the model has, says which model. */
function naming<T>(modelName: string, option: string, lookup: () => T): T {
  try {
    return lookup();
  } catch (err) {
    if (!(err instanceof AdvkitError)) throw err;
    throw new AdvkitError(err.code, `visualize: ${modelName}: ${err.message}`, { ...err.details, option });
  }
}

function channelIndex(value: string | number, count: number, layer: string, modelName: string): number {
  const text = String(value);
  if (/^\d+$/.test(text) && Number(text) < count) return Number(text);
  throw invalidArgument(
    `visualize: channel '${text}' is not a channel of ${modelName}'s layer ${layer}: give an index from 0 to ${count - 1}.`,
    { option: 'channels' },
  );
}
