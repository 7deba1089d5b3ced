import Type, { type Static } from 'typebox';
import { ARCHITECTURES } from '../models/architectures/index.js';
import { OPTIMIZER_NAMES } from '../optim/optimizers.js';
import { ADVERSARIAL_METHODS } from '../train/adversarial/options.js';
import { AUGMENT_NAMES } from '../train/augment.js';
import { SCHEDULE_NAMES } from '../train/schedules.js';
import { field } from '../util/schema.js';
import { seedField } from './spec.js';

/** A list given as text ('256,256', as typed on a command line) or as a JSON array. */
function numberList(description: string, placeholder: string) {
  return Type.Optional(
    Type.Union([Type.String(), Type.Array(Type.Number())], { description, 'x-placeholder': placeholder }),
  );
}

/**
 * The train task's spec: what to train on, the architecture, the optimisation protocol and (optionally) how to
 * harden the model adversarially. The training options keep the names of the library's TrainOptions, so an
 * error of the library names the spec key; the adversarial ones that would clash (the schedule's stepSize)
 * carry an 'attack' prefix. Where to save the model and the checkpoints is the caller's (see TrainContext).
 */
export const trainSchema = Type.Object({
  data: Type.String({
    description: 'dataset: mnist, fashion-mnist, cifar10, or an image folder',
    'x-placeholder': 'name',
  }),
  arch: Type.String({ description: `architecture: ${ARCHITECTURES.join(', ')}`, 'x-placeholder': 'name' }),
  dataDir: Type.Optional(
    Type.String({
      description: 'where dataset files are (default: $ADVKIT_DATA, then the user cache)',
      'x-placeholder': 'dir',
    }),
  ),
  classes: Type.Optional(
    Type.Union([Type.String(), Type.Array(Type.Union([Type.String(), Type.Integer({ minimum: 0 })]))], {
      description: 'train on these classes only (names or indices, comma-separated), relabelled 0..k-1',
      'x-placeholder': 'list',
    }),
  ),
  n: field.integer({
    min: 1,
    description: 'train on a seeded random subset of this many images',
  }),
  evalSplit: field.choice(['test', 'none'], {
    default: 'test',
    description: 'evaluate after each epoch on: test or none',
  }),
  epochs: field.integer({ min: 1, default: 3, description: 'epochs' }),
  batchSize: field.integer({
    min: 1,
    default: 128,
    description: 'images per step (per micro-batch with --accumulate)',
  }),
  optimizer: field.choice(OPTIMIZER_NAMES, {
    default: 'adam',
    description: `optimizer: ${OPTIMIZER_NAMES.join(', ')}`,
  }),
  lr: field.number({
    min: 0,
    exclusiveMin: true,
    max: 100,
    default: 1e-3,
    description: 'learning rate (peak rate for onecycle)',
  }),
  momentum: field.number({ min: 0, max: 1, exclusiveMax: true, description: 'SGD momentum (default 0.9)' }),
  nesterov: field.boolean({ default: false, description: 'SGD with Nesterov momentum' }),
  weightDecay: field.number({ min: 0, max: 1, exclusiveMax: true, description: 'weight decay (default 0)' }),
  weightDecayMode: Type.Optional(
    Type.Enum(['coupled', 'decoupled'], {
      description: 'coupled (L2 in the gradient) or decoupled (SGDW/AdamW)',
    }),
  ),
  schedule: Type.Optional(
    Type.Enum([...SCHEDULE_NAMES], { description: `learning-rate schedule: ${SCHEDULE_NAMES.join(', ')}` }),
  ),
  stepSize: field.number({
    min: 0,
    exclusiveMin: true,
    description: "'step' schedule: decay every this many epochs",
  }),
  gamma: field.number({
    min: 0,
    exclusiveMin: true,
    max: 1,
    description: "'step' schedule: decay factor (default 0.1)",
  }),
  milestones: numberList("'step' schedule: comma-separated epochs at which to decay", 'epochs'),
  warmupEpochs: field.number({ min: 0, max: 1e6, description: "'cosine' schedule: linear warm-up length" }),
  minLr: field.number({
    min: 0,
    max: 1e6,
    description: "'cosine' schedule: final learning rate (default 0)",
  }),
  pctStart: field.number({
    min: 0,
    exclusiveMin: true,
    max: 1,
    description: "'onecycle' schedule: fraction of the run spent rising (default 0.3)",
  }),
  anneal: Type.Optional(
    Type.Enum(['cos', 'linear'], { description: "'onecycle' schedule: cos or linear (default cos)" }),
  ),
  beta1: field.number({ min: 0, max: 0.999999, description: 'adam: first-moment decay (default 0.9)' }),
  beta2: field.number({ min: 0, max: 0.999999, description: 'adam: second-moment decay (default 0.999)' }),
  labelSmoothing: field.number({ min: 0, max: 0.999, description: 'label smoothing in [0, 1)' }),
  augment: Type.Optional(
    Type.Enum([...AUGMENT_NAMES], { description: `data augmentation: ${AUGMENT_NAMES.join(', ')}` }),
  ),
  noiseSigma: field.number({
    min: 0,
    max: 1e6,
    description:
      'Gaussian noise augmentation for randomized smoothing (Cohen et al. 2019): fresh unclipped N(0, sigma^2) noise on every training batch; 0 = off (default); standard training only',
  }),
  accumulate: field.integer({ min: 1, description: 'accumulate gradients over k micro-batches per step' }),
  seed: Type.Integer({
    ...seedField,
    default: 0,
    description: 'seed for initialization, data order and augmentation',
  }),
  checkpointEvery: field.integer({
    min: 0,
    description: 'also checkpoint every N steps (default: each epoch end)',
  }),
  hidden: numberList("'mlp': hidden layer sizes, comma-separated (default 256,256)", 'sizes'),
  batchNorm: field.boolean({
    default: false,
    description: "'cifar-cnn': batch normalization after each convolution",
  }),
  dropout: field.number({ min: 0, max: 0.99, description: "'cifar-cnn': dropout rate" }),
  depth: field.integer({ min: 1, description: "'wide-resnet': depth (6n+4)" }),
  widen: field.integer({ min: 1, description: "'wide-resnet': widen factor" }),
  mean: numberList('per-channel mean subtracted inside the model (comma-separated, [0,1] scale)', 'values'),
  std: numberList('per-channel std divided inside the model (comma-separated, [0,1] scale)', 'values'),
  adversarial: Type.Optional(
    Type.Enum([...ADVERSARIAL_METHODS], {
      description:
        'adversarial training: pgd (Madry et al. 2018), fgsm-rs (Wong et al. 2020), free (Shafahi et al. 2019), ' +
        'trades (Zhang et al. 2019)',
    }),
  ),
  eps: field.number({
    min: 0,
    exclusiveMin: true,
    description: 'adversarial: the budget in input units, e.g. 0.3 or 8/255',
  }),
  norm: Type.Optional(
    Type.Enum(['linf', 'l2'], { description: 'adversarial: linf (default) or l2 (pgd, trades)' }),
  ),
  attackSteps: field.integer({
    min: 1,
    description: 'pgd, trades: steps of the inner maximisation (default 10)',
  }),
  attackStepSize: field.number({
    min: 0,
    exclusiveMin: true,
    description:
      'inner step size at the full eps (defaults: pgd 2.5*eps/steps, fgsm-rs 1.25*eps, free eps, trades eps/4)',
  }),
  randomStart: Type.Optional(
    Type.Boolean({ description: 'pgd, fgsm-rs: start from a random point of the ball (default true)' }),
  ),
  replays: field.integer({ min: 1, description: 'free: replays of each batch (default 8)' }),
  beta: field.number({ min: 0, max: 1e6, description: 'trades: weight of the KL term (default 6)' }),
  epsWarmup: field.number({
    min: 0,
    max: 1e6,
    description: 'adversarial: epochs over which eps rises linearly from 0 (default 0)',
  }),
  cleanWeight: field.number({
    min: 0,
    max: 1,
    exclusiveMax: true,
    description: 'pgd, fgsm-rs, free: train on w*CE(clean) + (1-w)*CE(adversarial) (default 0)',
  }),
  guard: field.boolean({
    default: true,
    description: 'fgsm-rs: the catastrophic-overfitting guard (a PGD check each epoch); false turns it off',
  }),
  guardBatch: field.integer({ min: 1, description: 'fgsm-rs guard: images in its PGD check (default 256)' }),
  guardSteps: field.integer({ min: 1, description: 'fgsm-rs guard: PGD steps (default 10)' }),
});

export type TrainSpec = Static<typeof trainSchema>;
