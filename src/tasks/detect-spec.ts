import Type, { type Static } from 'typebox';
import { field } from '../util/schema.js';
import { batchSizeField, datasetFields, epsField, modelFields } from './spec.js';

/** The detectors `advkit detect` knows, in report order. */
export const DETECTOR_NAMES = ['feature-squeezing', 'binary-input', 'binary-activation'] as const;
export type DetectorName = (typeof DETECTOR_NAMES)[number];

/** The attacks each detector is measured against: three that ignore it and the one that knows it. */
export const DETECT_ATTACKS = ['fgsm', 'pgd', 'cw', 'adaptive'] as const;
export type DetectAttack = (typeof DETECT_ATTACKS)[number];

/** The bundled model `advkit detect` uses when none is given. */
export const DETECT_DEFAULT_MODEL = 'mnist-cnn';

/**
 * The detect task's spec: detectors of adversarial inputs (feature squeezing; learned binary detectors on the
 * inputs or on an activation, trained on clean vs PGD images of the training split), each thresholded for a
 * false-positive rate on clean training images and measured on the first n test images against FGSM, PGD, C&W
 * and the adaptive attack that knows the detector.
 */
export const detectTaskSchema = Type.Object({
  model: Type.Optional(
    Type.String({
      description: `model directory or bundled model name (default: ${DETECT_DEFAULT_MODEL})`,
      'x-placeholder': 'dir',
    }),
  ),
  labels: modelFields.labels,
  ...datasetFields,
  detector: Type.Optional(
    Type.String({
      description: `detectors, comma-separated: ${DETECTOR_NAMES.join(', ')} (default: all)`,
      'x-placeholder': 'list',
    }),
  ),
  attacks: Type.Optional(
    Type.String({
      description: `attacks each detector is measured against, comma-separated: ${DETECT_ATTACKS.join(', ')} (default: all)`,
      'x-placeholder': 'list',
    }),
  ),
  eps: Type.Optional({
    ...epsField,
    description:
      "one Linf budget for FGSM, PGD and the adaptive attack, e.g. 0.3 or 8/255 (default: the dataset's largest standard budget: MNIST 0.3, CIFAR-10 8/255); C&W is unbounded",
  }),
  n: Type.Integer({
    minimum: 1,
    default: 200,
    description: 'test images attacked (the first n of the split)',
  }),
  fpr: field.number({
    default: 0.05,
    min: 0,
    max: 1,
    exclusiveMin: true,
    exclusiveMax: true,
    description: 'false-positive rate on clean images the threshold is set for',
  }),
  calibration: Type.Integer({
    minimum: 1,
    default: 500,
    description: 'clean training-split images the threshold is fit on (after the detector-training images)',
  }),
  trainImages: Type.Integer({
    minimum: 2,
    default: 1000,
    description: 'training-split images whose clean and PGD versions train the binary detectors',
  }),
  epochs: Type.Integer({ minimum: 1, default: 5, description: 'training epochs of the binary detectors' }),
  squeezers: Type.Optional(
    Type.String({
      description:
        'feature squeezing: squeezers, each alone, e.g. bits:1,median:3 (default: bits:1,median:3 for grey images, bits:5,median:3 for colour)',
      'x-placeholder': 'list',
    }),
  ),
  layer: Type.Optional(
    Type.String({
      description:
        'binary-activation: the layer whose activation is classified (default: the last 4-D activation)',
      'x-placeholder': 'name',
    }),
  ),
  cwSteps: Type.Integer({ minimum: 1, default: 100, description: 'C&W: Adam steps per search round' }),
  adaptiveSteps: Type.Integer({
    minimum: 1,
    default: 100,
    description: 'adaptive attack: PGD steps on the joint classifier+detector objective',
  }),
  adaptiveWeight: field.number({
    min: 0,
    exclusiveMin: true,
    description:
      "adaptive attack: weight of the detector's score above its threshold against the classifier's logit margin (default: 2 for feature squeezing's L1 distance, 1 for the binary detectors' logit margin)",
  }),
  batchSize: batchSizeField,
  seed: Type.Integer({
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    default: 0,
    description: "seed of the attacks and of the detectors' training",
  }),
});

export type DetectSpec = Static<typeof detectTaskSchema>;
