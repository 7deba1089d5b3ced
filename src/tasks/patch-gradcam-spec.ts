import Type, { type Static } from 'typebox';
import { PATCH_TRAINING_DEFAULTS } from '../attacks/patch/patch-options.js';
import { field } from '../util/schema.js';
import { modelFields, seedField } from './spec.js';

/** The model and the photos when the spec names none: under $ADVKIT_MODELS and $ADVKIT_DATA. */
export const PATCH_GRADCAM_DEFAULT_MODEL = 'darknet-tiny-imagenet';
export const PATCH_GRADCAM_DEFAULT_IMAGES = 'imagenet-samples';

/** Where the patch goes on every photo: a corner (inset by `margin`) or the centre. */
export const PATCH_POSITIONS = ['bottom-right', 'bottom-left', 'top-right', 'top-left', 'center'] as const;
export type PatchPosition = (typeof PATCH_POSITIONS)[number];

/**
 * The patch-gradcam experiment's spec: a universal patch (trained by the patch task on half of a folder of
 * photos, or read from a patch PNG), pasted at one fixed place on each held-out photo, and Grad-CAM before and
 * after. The training defaults are the README's `advkit patch` run (soccer_ball, side 0.25, 120 steps).
 */
export const patchGradcamSchema = Type.Object({
  model: Type.Optional(
    Type.String({
      description: `model directory or bundled name (default: $ADVKIT_MODELS/${PATCH_GRADCAM_DEFAULT_MODEL})`,
      'x-placeholder': 'dir',
    }),
  ),
  labels: modelFields.labels,
  images: Type.Optional(
    Type.String({
      description:
        `folder of photos, searched recursively and sorted; the even ones train the patch, the odd ones are ` +
        `held out and explained (default: $ADVKIT_DATA/${PATCH_GRADCAM_DEFAULT_IMAGES})`,
      'x-placeholder': 'dir',
    }),
  ),
  patch: Type.Optional(
    Type.String({
      description:
        'a patch PNG written by `advkit patch` (transparent outside a disc patch) to use instead of training one',
      'x-placeholder': 'file',
    }),
  ),
  target: Type.String({
    default: 'soccer_ball',
    description: 'class the patch is trained for: a class name or index',
    'x-placeholder': 'class',
  }),
  size: field.number({
    min: 0,
    exclusiveMin: true,
    max: 1,
    default: 0.25,
    description: "the patch's side as a fraction of the image side (training)",
  }),
  steps: field.integer({ min: 1, default: 120, description: 'patch optimisation steps' }),
  batchSize: Type.Integer({
    minimum: 1,
    default: PATCH_TRAINING_DEFAULTS.batchSize,
    description: 'images per patch optimisation step',
    'x-flag': '--batch',
    'x-placeholder': 'count',
  }),
  learningRate: Type.Number({
    exclusiveMinimum: 0,
    maximum: 10,
    default: PATCH_TRAINING_DEFAULTS.learningRate,
    description: 'Adam learning rate of the patch (a fraction of the input range per step)',
    'x-flag': '--lr',
    'x-placeholder': 'rate',
  }),
  position: field.choice(PATCH_POSITIONS, {
    default: 'bottom-right',
    description: `where the patch is pasted on every held-out photo: ${PATCH_POSITIONS.join(', ')}`,
  }),
  margin: field.number({
    min: 0,
    max: 0.5,
    default: 0.0625,
    description: "a corner patch's distance from the image edges, as a fraction of the image side",
  }),
  layer: Type.Optional(
    Type.String({
      description: "Grad-CAM layer (default: the model's last 4-D activation, conv2d_16 on Darknet)",
      'x-placeholder': 'name',
    }),
  ),
  seed: Type.Integer({ ...seedField, default: 0, description: 'seed of the patch training' }),
});

export type PatchGradcamSpec = Static<typeof patchGradcamSchema>;
