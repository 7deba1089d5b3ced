import Type from 'typebox';
import { NORMS } from '../attacks/types.js';
import { SUITE_ATTACKS, SUITE_NAMES } from '../evaluate/suites.js';
import { batchSizeField, datasetFields, epsField, defenseField, modelFields } from './spec.js';

/** The bundled model `evaluate` asks about when no model is named: the adversarially trained MNIST CNN. */
export const EVALUATE_DEFAULT_MODEL = 'mnist-cnn-robust';

/**
 * The evaluate task's spec: how robust is a model, under the AutoAttack protocol, at each eps.
 * Defaults make the README's main job: the robust MNIST CNN, 100 test images, Linf 0.1/0.2/0.3.
 */
export const evaluateSchema = Type.Object({
  model: Type.Optional(
    Type.String({
      description: `model directory or bundled model name (default: ${EVALUATE_DEFAULT_MODEL})`,
      'x-placeholder': 'dir',
    }),
  ),
  labels: modelFields.labels,
  defense: defenseField,
  ...datasetFields,
  n: Type.Integer({ minimum: 1, default: 100, description: 'points to evaluate (the first n of the split)' }),
  norm: Type.Enum([...NORMS], { default: 'linf', description: `threat model: ${NORMS.join(', ')}` }),
  eps: Type.Optional({
    ...epsField,
    description:
      'budgets in input units, e.g. 0.1,0.2,0.3 or 8/255 (default for MNIST/CIFAR-10 models: three budgets)',
  }),
  suite: Type.Optional(
    Type.String({
      description: `${SUITE_NAMES.join(', ')}, or a list of: ${SUITE_ATTACKS.join(', ')} (default: standard; rand behind a random defense)`,
      'x-placeholder': 'name',
    }),
  ),
  eot: Type.Optional(
    Type.Integer({
      minimum: 1,
      description:
        'average each gradient over this many passes (EOT) for a randomized model (default: 1; 20 with --suite rand or a random defense)',
      'x-placeholder': 'passes',
    }),
  ),
  gradients: Type.Optional(
    Type.Enum(['adaptive', 'naive', 'both'], {
      description:
        'with --defense: adaptive (BPDA through non-differentiable transforms, EOT over random ones; the default and the honest evaluation), naive (plain gradients, no EOT: masked, overstates robustness, flagged; for comparison only) or both',
    }),
  ),
  seed: Type.Integer({
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    default: 0,
    description: 'seed of every random choice of the attacks',
  }),
  gallery: Type.Integer({ minimum: 0, default: 8, description: 'points shown in the report gallery' }),
  batchSize: batchSizeField,
  chunk: Type.Optional(
    Type.Integer({
      minimum: 1,
      description:
        'points per chunk, the unit of work that is saved for resume and sent to queue workers (default: 4 x batch size)',
      'x-placeholder': 'points',
    }),
  ),
  sanity: Type.Boolean({ default: true, description: 'skip the sanity checks (not recommended)' }),
});
