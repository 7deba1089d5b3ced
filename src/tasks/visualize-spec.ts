import Type from 'typebox';
import { featureVisualizationSchema } from '../explain/feature-visualization.js';
import { modelFields } from './spec.js';

/** The comparison the task makes when no model is named: the bundled standard and robust CIFAR-10 CNNs. */
export const VISUALIZE_DEFAULT_MODELS = ['cifar-cnn', 'cifar-cnn-robust'] as const;

/** Pictures per row when no class or channel is named. */
export const VISUALIZE_DEFAULT_COLUMNS = 10;

/** Names or indices, as one comma-separated text (a CLI flag) or a JSON list. */
const listOf = (o: { description: string; flag: string; placeholder: string }) =>
  Type.Optional(
    Type.Union([Type.String(), Type.Array(Type.Union([Type.String(), Type.Integer({ minimum: 0 })]))], {
      description: o.description,
      'x-flag': o.flag,
      'x-placeholder': o.placeholder,
    }),
  );

const f = featureVisualizationSchema;

/**
 * The visualize task's spec: for each model (a row of the picture), one image per class (or per channel of a
 * layer) that maximizes it, from the same seeded noise or from a given image. The optimization's options are
 * feature visualization's own schema, so the library and every surface share one set of defaults.
 */
export const visualizeSchema = Type.Object({
  model: Type.Optional(
    Type.Union([Type.String(), Type.Array(Type.String())], {
      description: `models to compare, one row each: comma-separated directories or bundled names (default: ${VISUALIZE_DEFAULT_MODELS.join(',')})`,
      'x-placeholder': 'dirs',
    }),
  ),
  labels: modelFields.labels,
  classes: listOf({
    description: `classes whose logit is maximized, one column each: comma-separated names or indices (default: the first ${VISUALIZE_DEFAULT_COLUMNS})`,
    flag: '--class',
    placeholder: 'classes',
  }),
  layer: Type.Optional(
    Type.String({
      description: 'maximize channels of this layer (a 4-D activation) instead of class logits',
      'x-placeholder': 'name',
    }),
  ),
  channels: listOf({
    description: `with --layer: the channels to maximize (spatial mean), comma-separated indices (default: the first ${VISUALIZE_DEFAULT_COLUMNS})`,
    flag: '--channel',
    placeholder: 'indices',
  }),
  start: Type.String({
    default: 'noise',
    description:
      "where each image starts: 'noise' (mid-grey plus Gaussian noise, seeded), 'uniform' (uniform noise over " +
      'the bounds, seeded) or an image file',
    'x-placeholder': 'noise|uniform|file',
  }),
  steps: f.steps,
  stepSize: f.stepSize,
  eps: f.eps,
  jitter: f.jitter,
  blurEvery: f.blurEvery,
  blurSigma: f.blurSigma,
  seed: f.seed,
});
