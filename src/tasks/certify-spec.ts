import Type, { type Static } from 'typebox';
import { certifySchema as smoothingSchema } from '../defend/randomized-smoothing.js';
import { field } from '../util/schema.js';
import { datasetFields, modelFields } from './spec.js';

/** The radii at which certified accuracy is reported when none are given (L2, in the model's pixel units). */
export const CERTIFY_DEFAULT_RADII = [0, 0.25, 0.5, 0.75, 1] as const;

/**
 * The certify task's spec: randomized smoothing's CERTIFY (Cohen et al. 2019) on the first n images of a
 * dataset split, and the certified accuracy at each L2 radius. The noise's options are the library's own
 * fields (defend/randomized-smoothing.ts), so every surface shares one set of defaults and checks; the library's
 * `n` (copies that bound pA) is `samples` here, because `n` is the number of images, as in every other task.
 * Named certifyTaskSchema because the library's CERTIFY parameters are already exported as certifySchema.
 */
export const certifyTaskSchema = Type.Object({
  model: Type.Optional(
    Type.String({ description: 'model directory or bundled model name (required)', 'x-placeholder': 'dir' }),
  ),
  labels: modelFields.labels,
  ...datasetFields,
  n: Type.Integer({ minimum: 1, default: 100, description: 'images to certify (the first n of the split)' }),
  sigma: smoothingSchema.sigma,
  n0: smoothingSchema.n0,
  samples: field.integer({
    default: 100_000,
    min: 1,
    description:
      "noisy copies per image that bound the top class's probability from below (N; fewer lower the largest certifiable radius)",
  }),
  alpha: smoothingSchema.alpha,
  batchSize: smoothingSchema.batchSize,
  seed: smoothingSchema.seed,
  attackCheck: Type.Integer({
    minimum: 0,
    default: 0,
    description:
      'after certifying, attack up to this many certified images inside their radius (L2 PGD-40 with EOT-16 over the noise, on the base model) and check that the smoothed class never changes',
    'x-placeholder': 'images',
  }),
  radii: Type.Optional(
    Type.Union([Type.String(), Type.Array(Type.Number({ minimum: 0 }))], {
      description: `L2 radii at which certified accuracy is reported, in pixel units (default: ${CERTIFY_DEFAULT_RADII.join(',')})`,
      'x-placeholder': 'list',
    }),
  ),
});

export type CertifySpec = Static<typeof certifyTaskSchema>;
