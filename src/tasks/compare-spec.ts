import Type from 'typebox';
import { NORMS } from '../attacks/types.js';
import { DEFAULT_EPS } from './budgets.js';
import { batchSizeField, datasetFields, epsField } from './spec.js';

/**
 * The default job: the bundled standard and adversarially trained MNIST CNNs, side by side on 1,000 test
 * images with FGSM and PGD-40, at the shared default budgets (MNIST Linf 0.1, 0.2, 0.3).
 */
export const COMPARE_DEFAULTS = {
  models: ['mnist-cnn', 'mnist-cnn-robust'],
  n: 1000,
  attacks: 'fgsm,pgd',
} as const;

const defaultEpsHelp = Object.entries(DEFAULT_EPS)
  .map(
    ([dataset, byNorm]) =>
      `${dataset} ${Object.entries(byNorm)
        .map(([norm, eps]) => `${norm} ${eps}`)
        .join(', ')}`,
  )
  .join('; ');

/** A list given as comma-separated text (the CLI's form) or as an array. */
const listOf = (description: string, placeholder: string, defaults?: readonly string[]) =>
  Type.Union([Type.String(), Type.Array(Type.String())], {
    description,
    'x-placeholder': placeholder,
    ...(defaults !== undefined ? { default: [...defaults] } : {}),
  });

/** One attack of the comparison as JSON: a registry name, its parameters, and the column label. */
const attackItem = Type.Object(
  {
    attack: Type.String({ description: 'attack name (advkit attacks lists them)' }),
    params: Type.Optional(
      Type.Record(Type.String(), Type.Union([Type.Number(), Type.Boolean(), Type.String()]), {
        description: "the attack's parameters, e.g. { steps: 100 }",
      }),
    ),
    label: Type.Optional(Type.String({ description: "column label (default: 'PGD-40' style)" })),
  },
  { additionalProperties: false },
);

/**
 * The compare task's spec: several models on the same images with the same untargeted attacks, budgets and
 * seed, so that their rows can be read against each other.
 */
export const compareSchema = Type.Object({
  models: Type.Optional(
    listOf(
      'comma-separated model directories or names of bundled models (e.g. cifar-linear,cifar-linear-robust; ' +
        `default: the bundled ${COMPARE_DEFAULTS.models.join(' and ')})`,
      'dirs',
    ),
  ),
  names: Type.Optional(listOf("comma-separated row names (default: each directory's name)", 'list')),
  data: Type.Optional(
    Type.String({
      description:
        "dataset: mnist, fashion-mnist, cifar10, or an image folder (default: the first model's); only the " +
        "models' classes are used (a two-class CIFAR model gets the images of its two classes)",
      'x-placeholder': 'name',
    }),
  ),
  dataDir: datasetFields.dataDir,
  split: datasetFields.split,
  n: Type.Integer({
    minimum: 1,
    default: COMPARE_DEFAULTS.n,
    description: 'images to evaluate (at most): the first n, or a seeded random n with --seed',
    'x-placeholder': 'count',
  }),
  seed: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      description:
        'seed of the attacks (random starts) and of the sample (default: the first n, attack seed 0)',
      'x-placeholder': 'seed',
    }),
  ),
  norm: Type.Enum([...NORMS], { default: 'linf', description: `budget norm: ${NORMS.join(', ')}` }),
  eps: Type.Optional({
    ...epsField,
    description:
      "comma-separated budgets in the first model's input units, e.g. 0.1,0.2,0.3 or 2/255,8/255 (default by " +
      `dataset and norm: ${defaultEpsHelp})`,
  }),
  attacks: Type.Union([Type.String(), Type.Array(Type.Union([Type.String(), attackItem]))], {
    default: COMPARE_DEFAULTS.attacks,
    description:
      'comma-separated untargeted attacks, each with optional parameters after colons, e.g. ' +
      'fgsm,pgd:steps=100:restarts=2 (see advkit attacks)',
    'x-placeholder': 'list',
  }),
  batchSize: batchSizeField,
});
