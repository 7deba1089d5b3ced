import { inputsField } from './predict-spec.js';
import Type from 'typebox';
import { NORMS } from '../attacks/types.js';
import {
  batchSizeField,
  epsField,
  imagesField,
  defenseField,
  modelFields,
  sampleSourceFields,
} from './spec.js';

/** The attack `attack` runs when none is named, and the bundled model it attacks. */
export const ATTACK_DEFAULTS = { attack: 'pgd', model: 'mnist-cnn' } as const;

/**
 * The attack task's spec: one attack, on image files (each image's label is the model's clean prediction)
 * or on a dataset sample, at one or more budgets. The attack's own parameters are `params`, checked against
 * the attack's schema (the CLI makes them flags).
 */
export const attackSchema = Type.Object({
  model: Type.Optional(
    Type.String({ description: 'model directory (default: the bundled mnist-cnn)', 'x-placeholder': 'dir' }),
  ),
  labels: modelFields.labels,
  defense: defenseField,
  images: Type.Optional({
    ...imagesField.images,
    description: 'image file(s) to attack (PNG, JPEG, WebP, ...), resized to the model input',
  }),
  inputs: inputsField,
  ...sampleSourceFields,
  n: Type.Integer({ minimum: 1, default: 100, description: 'number of dataset samples' }),
  seed: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      description:
        'seed of the attack (random starts, random targets) and of the sample (default: the first n, seed 0)',
    }),
  ),
  attack: Type.String({
    default: ATTACK_DEFAULTS.attack,
    description: 'attack name',
    'x-placeholder': 'name',
  }),
  norm: Type.Optional(
    Type.Enum([...NORMS], {
      description: `budget norm: ${NORMS.join(', ')} (default: linf, or the attack's first norm)`,
    }),
  ),
  eps: Type.Optional({
    ...epsField,
    description: 'budget in input units: 0.3, 8/255, or a list 0.1,0.2,0.3 (a result per eps)',
    'x-placeholder': 'budget',
  }),
  target: Type.Optional(
    Type.String({
      description: 'targeted: a class name or index, least-likely or random (default: untargeted)',
      'x-placeholder': 'class',
    }),
  ),
  gallery: Type.Optional(
    Type.Integer({
      minimum: 1,
      description: 'dataset mode: examples shown in the gallery (default: up to 100)',
      'x-placeholder': 'count',
    }),
  ),
  transferTo: Type.Optional(
    Type.String({
      description:
        'dataset mode: craft on --model (the surrogate), then report how many fool this model (transfer rate)',
      'x-placeholder': 'dir',
    }),
  ),
  batchSize: batchSizeField,
  eot: Type.Integer({
    minimum: 1,
    default: 1,
    description: 'average each gradient over this many passes (EOT), for a randomized model',
    'x-placeholder': 'passes',
  }),
  params: Type.Optional(
    Type.Record(Type.String(), Type.Union([Type.Number(), Type.Boolean(), Type.String()]), {
      description: "the attack's parameters (advkit attacks lists them), e.g. { steps: 40 }",
    }),
  ),
  adversarialImages: Type.Boolean({
    default: false,
    description:
      'image mode: each adversarial image as a PNG artifact (adversarial-<image>-<eps>.png), for programs',
    'x-cli': false,
  }),
  pictures: Type.Boolean({
    default: false,
    description: 'render the picture (image mode: panels; dataset mode: the gallery) as an artifact',
  }),
});
