import Type, { type Static } from 'typebox';
import { field } from '../util/schema.js';
import { datasetFields, seedField } from './spec.js';

/** The comparison made when no model is named: the bundled standard and adversarially trained CIFAR-10 CNNs. */
export const ROBUST_SALIENCY_DEFAULT_MODELS = { standard: 'cifar-cnn', robust: 'cifar-cnn-robust' } as const;

/**
 * The robust-saliency experiment's spec: on the same test images, the standard model's saliency and SmoothGrad
 * next to the robust model's saliency (and SmoothGrad), each map scored by deletion and insertion (against a
 * random pixel order on its own model) and by its alignment with the image's edges. SmoothGrad is the plain
 * SmoothGrad of the saliency map (Smilkov et al. 2017) with 50 samples at sigma 0.15.
 */
export const robustSaliencySchema = Type.Object({
  standard: Type.String({
    default: ROBUST_SALIENCY_DEFAULT_MODELS.standard,
    description: 'the standard model: directory or bundled name',
    'x-placeholder': 'dir',
  }),
  robust: Type.String({
    default: ROBUST_SALIENCY_DEFAULT_MODELS.robust,
    description: 'the robust model (same classes and input shape): directory or bundled name',
    'x-placeholder': 'dir',
  }),
  dataDir: datasetFields.dataDir,
  n: field.integer({ min: 1, default: 100, description: 'test images: the first n of the test split' }),
  samples: field.integer({ min: 1, default: 50, description: 'SmoothGrad: noisy copies per image' }),
  sigma: field.number({
    min: 0,
    default: 0.15,
    description: 'SmoothGrad: noise standard deviation as a fraction of the input range',
  }),
  steps: field.integer({
    min: 1,
    default: 20,
    description: 'deletion and insertion: pixels change in this many equal parts',
  }),
  deletionBaseline: field.choice(['blur', 'grey', 'black'] as const, {
    default: 'blur',
    description:
      "what deleted pixels become: 'blur' (the image blurred), 'grey' or 'black' (RISE's; random black pixels " +
      'are themselves a strong perturbation on 32x32 images)',
  }),
  pictures: field.integer({ min: 0, default: 8, description: 'images in the picture (the first ones)' }),
  seed: Type.Integer({
    ...seedField,
    default: 0,
    description: "seed of SmoothGrad's noise, the random pixel order and the tie-breaks",
  }),
});

export type RobustSaliencySpec = Static<typeof robustSaliencySchema>;
