import Type from 'typebox';
import { PATCH_TRAINING_DEFAULTS } from '../attacks/patch/patch-options.js';
import { PATCH_SHAPES } from '../attacks/patch/placement.js';
import { field } from '../util/schema.js';
import { datasetFields, modelFields } from './spec.js';

export const PATCH_DEFAULT_MODEL = 'mnist-cnn';

const d = PATCH_TRAINING_DEFAULTS;

/**
 * The patch task's spec: train a universal targeted patch on some images (a folder of photos, or a dataset's
 * training split), measure it on held-out images (the other photos, or the test split) against a random patch
 * of the same size. The training options keep the CLI's short flags ('x-flag').
 */
export const patchSchema = Type.Object({
  model: Type.Optional(
    Type.String({
      description: 'model directory or bundled model name (default: the bundled mnist-cnn)',
      'x-placeholder': 'dir',
    }),
  ),
  labels: modelFields.labels,
  images: Type.Optional(
    Type.String({
      description:
        'folder of photos (searched recursively); held-out success is judged against the clean predictions',
      'x-placeholder': 'dir',
    }),
  ),
  data: Type.Optional(
    Type.String({
      description: 'dataset: mnist, fashion-mnist or cifar10 (default: the one the model was trained on)',
      'x-placeholder': 'name',
    }),
  ),
  dataDir: datasetFields.dataDir,
  n: Type.Integer({
    minimum: 1,
    default: 100,
    description: '--data: training images, and as many held-out images',
    'x-placeholder': 'count',
  }),
  target: Type.String({
    description: 'class the patch should make the model predict: a class name or index',
    'x-placeholder': 'class',
  }),
  size: Type.Number({
    exclusiveMinimum: 0,
    maximum: 1,
    default: d.size,
    description: "the patch's side as a fraction of the image side",
    'x-placeholder': 'fraction',
  }),
  shape: field.choice(PATCH_SHAPES, {
    default: d.shape,
    description: `patch outline: ${PATCH_SHAPES.join(' or ')}`,
  }),
  steps: Type.Integer({
    minimum: 1,
    default: d.steps,
    description: 'optimisation steps',
    'x-placeholder': 'count',
  }),
  batchSize: Type.Integer({
    minimum: 1,
    default: d.batchSize,
    description: 'images per step',
    'x-flag': '--batch',
    'x-placeholder': 'count',
  }),
  learningRate: Type.Number({
    exclusiveMinimum: 0,
    maximum: 10,
    default: d.learningRate,
    description: 'Adam learning rate (pixel units: a fraction of the input range per step)',
    'x-flag': '--lr',
    'x-placeholder': 'rate',
  }),
  scaleMin: Type.Number({
    exclusiveMinimum: 0,
    maximum: 10,
    default: d.scaleRange[0],
    description: 'smallest random scale of the patch while training',
    'x-placeholder': 'factor',
  }),
  scaleMax: Type.Number({
    exclusiveMinimum: 0,
    maximum: 10,
    default: d.scaleRange[1],
    description: 'largest random scale of the patch while training',
    'x-placeholder': 'factor',
  }),
  maxRotation: Type.Number({
    minimum: 0,
    maximum: 180,
    default: d.maxRotation,
    description: 'largest random rotation, both ways',
    'x-placeholder': 'degrees',
  }),
  trials: Type.Integer({
    minimum: 1,
    default: 4,
    description: 'random placements per held-out image',
    'x-placeholder': 'count',
  }),
  seed: Type.Integer({
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    default: d.seed,
    description: 'seed of the batches and placements',
    'x-placeholder': 'seed',
  }),
});
