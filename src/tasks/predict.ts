import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../errors.js';
import type { Model } from '../models/model.js';
import { loadGivenInputs, loadModelSample } from './model-data.js';
import { openModel } from './model-source.js';
import { PREDICT_DEFAULT_MODEL, predictSchema } from './predict-spec.js';
import { parseSpec } from './spec.js';
import type { Task, TaskContext, TaskResult } from './task.js';
import { engineName } from '../backend/backend.js';

export interface Prediction {
  source: string;
  /** The true class, for dataset samples. */
  label?: string;
  top: { label: string; index: number; confidence: number }[];
}

export interface PredictResult extends TaskResult {
  task: 'predict';
  model: string;
  /** The input-transform defense the model was behind (`jpeg:75,bits:4`), when there was one. */
  defense?: string;
  backend: string;
  predictions: Prediction[];
  /** Top-1 accuracy over the labelled samples; undefined for image files. */
  accuracy?: number;
  notes: string[];
}

/** Classifies image files or dataset samples, in the model's input space, and returns the top-k classes. */
export const predictTask: Task<typeof predictSchema, PredictResult> = {
  name: 'predict',
  title: 'Classify images or dataset samples: top-k classes with confidences',
  schema: predictSchema,
  async run(input, ctx: TaskContext = {}) {
    if ((input.images !== undefined || input.inputs !== undefined) && input.split !== undefined) {
      throw invalidArgument('--split is for dataset samples (--data); image files have no split.');
    }
    const spec = parseSpec(predictSchema, input, 'predict');
    if ((spec.images || spec.inputs) && spec.data)
      throw invalidArgument('Give either --image or --data, not both.');
    const source = await openModel(spec.model, {
      defaultName: PREDICT_DEFAULT_MODEL,
      labels: spec.labels,
      defense: spec.defense,
    });
    const model = source.model;
    try {
      const notes: string[] = [];
      let predictions: Prediction[];
      const given = await loadGivenInputs(model, spec);
      if (given !== undefined) {
        const tops = await topK(source.target, given.x, spec.top).finally(() => given.x.dispose());
        predictions = tops.map((top, i) => ({ source: given.sources[i], top }));
      } else {
        const sample = await loadModelSample(model, spec);
        notes.push(...sample.info.notes);
        const tops = await topK(source.target, sample.x, spec.top).finally(() => sample.x.dispose());
        predictions = tops.map((top, i) => ({
          source: sample.sources[i],
          label: model.classNames[sample.labels[i]] ?? String(sample.labels[i]),
          top,
        }));
      }
      for (const note of notes) ctx.onNote?.(note);
      const labelled = predictions.filter((p) => p.label !== undefined);
      const accuracy =
        labelled.length === 0
          ? undefined
          : labelled.filter((p) => p.top[0]?.label === p.label).length / labelled.length;
      return {
        result: {
          task: 'predict',
          schemaVersion: 1,
          model: source.dir,
          ...(source.defense !== undefined ? { defense: source.defense.spec } : {}),
          backend: engineName(),
          predictions,
          accuracy,
          notes,
        },
        artifacts: [],
      };
    } finally {
      model.dispose();
    }
  },
};

async function topK(model: Model, x: tf.Tensor4D, k: number): Promise<Prediction['top'][]> {
  const kk = Math.min(k, model.numClasses);
  const { values, indices } = tf.tidy(() => tf.topk(model.predict(x), kk));
  const [vals, idxs] = await Promise.all([values.array(), indices.array()]);
  values.dispose();
  indices.dispose();
  return vals.map((row, i) =>
    row.map((confidence, j) => {
      const index = idxs[i][j];
      return { label: model.classNames[index] ?? String(index), index, confidence };
    }),
  );
}
