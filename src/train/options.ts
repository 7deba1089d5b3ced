import { invalidArgument } from '../errors.js';
import {
  resolveAdversarialOptions,
  type AdversarialOptions,
  type ResolvedAdversarialOptions,
} from './adversarial/options.js';
import { AUGMENT_NAMES, type AugmentName } from './augment.js';
import {
  OPTIMIZER_NAMES,
  type OptimizerConfig,
  type OptimizerName,
  type WeightDecayMode,
} from '../optim/optimizers.js';
import { SCHEDULE_NAMES, type ScheduleConfig, type ScheduleName } from './schedules.js';

/**
 * What `train` is asked to do. Schedule lengths (stepSize, milestones, warmupEpochs) are in epochs and may be
 * fractional; they are turned into optimizer steps. One optimizer step uses batchSize*accumulate images.
 */
export interface TrainOptions {
  epochs: number;
  /** Images per forward/backward pass (the micro-batch when accumulate > 1). */
  batchSize: number;
  optimizer: OptimizerName;
  /** Base (peak, for one-cycle) learning rate. */
  lr: number;
  /** SGD momentum (default 0.9). */
  momentum?: number;
  /** SGD Nesterov momentum (default false). */
  nesterov?: boolean;
  /** Adam betas (defaults 0.9, 0.999). */
  beta1?: number;
  beta2?: number;
  /** Default 0. */
  weightDecay?: number;
  /** 'coupled' = L2 added to the gradient (default); 'decoupled' = SGDW / AdamW. */
  weightDecayMode?: WeightDecayMode;
  /** Default 'constant'. */
  schedule?: ScheduleName;
  /** 'step' schedule: decay every stepSize epochs by gamma (default gamma 0.1), or at `milestones` (epochs). */
  stepSize?: number;
  gamma?: number;
  milestones?: number[];
  /** 'cosine' schedule: linear warm-up length in epochs (default 0) and final learning rate (default 0). */
  warmupEpochs?: number;
  minLr?: number;
  /** 'onecycle' schedule: fraction of the run spent rising (default 0.3) and the annealing shape (default 'cos'). */
  pctStart?: number;
  anneal?: 'cos' | 'linear';
  /** Label smoothing epsilon in [0, 1) (default 0). */
  labelSmoothing?: number;
  /** Default 'none'; 'crop-flip' = pad 4 (reflect) + random crop + horizontal flip, for CIFAR-like data. */
  augment?: AugmentName;
  /**
   * Gaussian noise augmentation (default 0 = off): every training image, every step, gets fresh N(0, sigma^2)
   * noise on each value, in the model's pixel space and not clipped, after `augment`, drawn from the seed's
   * stream. This trains the base classifier of randomized smoothing (Cohen, Rosenfeld & Kolter, "Certified
   * Adversarial Robustness via Randomized Smoothing", ICML 2019), with the sigma it will be certified at.
   * Standard training only: with `adversarial` it is refused (noise before or after the attack are different
   * methods, e.g. SmoothAdv, Salman et al. 2019).
   */
  noiseSigma?: number;
  /** Micro-batches whose gradients are averaged into one optimizer step (default 1). */
  accumulate?: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Seeds the data order and the augmentation. */
  seed: number;
  /** Write a checkpoint every N optimizer steps (default 0 = only at the end of each epoch). */
  checkpointEvery?: number;
  /**
   * Adversarial training (PGD-AT, FGSM-RS, Free AT, TRADES; see AdversarialOptions). Absent: standard training.
   * Label smoothing, accumulation, schedules, augmentation, resume and seeds work the same way.
   */
  adversarial?: AdversarialOptions;
}

/**
 * noiseSigma is present only when > 0, so that a run without noise has the same options (and resumes the
 * same checkpoints) as before the option existed.
 */
export type ResolvedTrainOptions = Required<
  Omit<TrainOptions, 'stepSize' | 'milestones' | 'adversarial' | 'noiseSigma'>
> &
  Pick<TrainOptions, 'stepSize' | 'milestones' | 'noiseSigma'> & { adversarial?: ResolvedAdversarialOptions };

/** Options that may differ between a run and its resumption without changing the trajectory. */
export const RESUME_FREE_OPTIONS: readonly (keyof TrainOptions)[] = ['checkpointEvery'];

function oneOf<T extends string>(name: string, value: T | undefined, allowed: readonly T[], fallback: T): T {
  const v = value ?? fallback;
  if (!allowed.includes(v))
    throw invalidArgument(`Training option '${name}' must be one of ${allowed.join(', ')}, got '${v}'.`, {
      option: name,
    });
  return v;
}

function number(
  name: string,
  value: number | undefined,
  fallback: number,
  test: (v: number) => boolean,
  expected: string,
): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !test(v)) {
    throw invalidArgument(`Training option '${name}' must be ${expected}, got ${String(v)}.`, {
      option: name,
    });
  }
  return v;
}

const positiveInt = (v: number): boolean => Number.isInteger(v) && v >= 1;

/**
 * Checks every option and fills in the defaults; throws INVALID_ARGUMENT naming the first bad option (its key
 * in details.option, so that a surface can name it as its user knows it: a CLI flag, a form field).
 */
export function resolveTrainOptions(opts: TrainOptions): ResolvedTrainOptions {
  const optimizer = oneOf('optimizer', opts.optimizer, OPTIMIZER_NAMES, 'sgd');
  const schedule = oneOf('schedule', opts.schedule, SCHEDULE_NAMES, 'constant');
  const resolved: ResolvedTrainOptions = {
    epochs: number('epochs', opts.epochs, NaN, positiveInt, 'a positive integer'),
    batchSize: number('batchSize', opts.batchSize, NaN, positiveInt, 'a positive integer'),
    optimizer,
    lr: number('lr', opts.lr, NaN, (v) => v > 0, 'a positive number'),
    momentum: number('momentum', opts.momentum, 0.9, (v) => v >= 0 && v < 1, 'in [0, 1)'),
    nesterov: opts.nesterov ?? false,
    beta1: number('beta1', opts.beta1, 0.9, (v) => v >= 0 && v < 1, 'in [0, 1)'),
    beta2: number('beta2', opts.beta2, 0.999, (v) => v >= 0 && v < 1, 'in [0, 1)'),
    weightDecay: number('weightDecay', opts.weightDecay, 0, (v) => v >= 0 && v < 1, 'in [0, 1)'),
    weightDecayMode: oneOf('weightDecayMode', opts.weightDecayMode, ['coupled', 'decoupled'], 'coupled'),
    schedule,
    gamma: number('gamma', opts.gamma, 0.1, (v) => v > 0, 'a positive number'),
    warmupEpochs: number('warmupEpochs', opts.warmupEpochs, 0, (v) => v >= 0, 'a number >= 0'),
    minLr: number('minLr', opts.minLr, 0, (v) => v >= 0, 'a number >= 0'),
    pctStart: number('pctStart', opts.pctStart, 0.3, (v) => v > 0 && v < 1, 'in (0, 1)'),
    anneal: oneOf('anneal', opts.anneal, ['cos', 'linear'], 'cos'),
    labelSmoothing: number('labelSmoothing', opts.labelSmoothing, 0, (v) => v >= 0 && v < 1, 'in [0, 1)'),
    augment: oneOf('augment', opts.augment, AUGMENT_NAMES, 'none'),
    accumulate: number('accumulate', opts.accumulate, 1, positiveInt, 'a positive integer'),
    shuffle: opts.shuffle ?? true,
    seed: number('seed', opts.seed, NaN, Number.isInteger, 'an integer'),
    checkpointEvery: number(
      'checkpointEvery',
      opts.checkpointEvery,
      0,
      (v) => Number.isInteger(v) && v >= 0,
      'an integer >= 0',
    ),
  };
  if (resolved.nesterov && (optimizer !== 'sgd' || resolved.momentum === 0)) {
    throw invalidArgument(`Training option 'nesterov' needs optimizer 'sgd' with momentum > 0.`, {
      option: 'nesterov',
    });
  }
  if (schedule !== 'step' && (opts.stepSize !== undefined || opts.milestones !== undefined)) {
    throw invalidArgument(
      `Training options 'stepSize' and 'milestones' need schedule 'step' (schedule is '${schedule}').`,
      { option: opts.stepSize !== undefined ? 'stepSize' : 'milestones' },
    );
  }
  if (schedule === 'step') {
    if (opts.stepSize === undefined && opts.milestones === undefined) {
      throw invalidArgument(`The 'step' schedule needs 'stepSize' (epochs) or 'milestones' (epochs).`, {
        option: 'schedule',
      });
    }
    if (opts.stepSize !== undefined && opts.milestones !== undefined) {
      throw invalidArgument(`The 'step' schedule takes either 'stepSize' or 'milestones', not both.`, {
        option: 'stepSize',
      });
    }
    if (opts.stepSize !== undefined) {
      resolved.stepSize = number('stepSize', opts.stepSize, NaN, (v) => v > 0, 'a positive number of epochs');
    }
    if (opts.milestones !== undefined) {
      if (!Array.isArray(opts.milestones) || !opts.milestones.every((m) => Number.isFinite(m) && m >= 0)) {
        throw invalidArgument(`Training option 'milestones' must be a list of epoch numbers >= 0.`, {
          option: 'milestones',
        });
      }
      resolved.milestones = [...opts.milestones].sort((a, b) => a - b);
    }
  }
  if (opts.adversarial !== undefined) resolved.adversarial = resolveAdversarialOptions(opts.adversarial);
  const noiseSigma = number('noiseSigma', opts.noiseSigma, 0, (v) => v >= 0, 'a number >= 0 (0 = no noise)');
  if (noiseSigma > 0) {
    if (resolved.adversarial !== undefined) {
      throw invalidArgument(
        `Training option 'noiseSigma' (Gaussian noise augmentation) applies only to standard training, not with 'adversarial'.`,
        { option: 'noiseSigma' },
      );
    }
    resolved.noiseSigma = noiseSigma;
  }
  if (resolved.minLr > resolved.lr) {
    throw invalidArgument(
      `Training option 'minLr' (${resolved.minLr}) must not exceed 'lr' (${resolved.lr}).`,
      { option: 'minLr' },
    );
  }
  return resolved;
}

export function optimizerConfig(opts: ResolvedTrainOptions): OptimizerConfig {
  const decay = { weightDecay: opts.weightDecay, weightDecayMode: opts.weightDecayMode };
  return opts.optimizer === 'sgd'
    ? { kind: 'sgd', momentum: opts.momentum, nesterov: opts.nesterov, ...decay }
    : { kind: 'adam', beta1: opts.beta1, beta2: opts.beta2, ...decay };
}

/** The schedule in optimizer steps, given how many steps make one epoch. */
export function scheduleConfig(opts: ResolvedTrainOptions, stepsPerEpoch: number): ScheduleConfig {
  const totalSteps = opts.epochs * stepsPerEpoch;
  const steps = (epochs: number): number => Math.max(1, Math.round(epochs * stepsPerEpoch));
  switch (opts.schedule) {
    case 'constant':
      return { kind: 'constant', lr: opts.lr };
    case 'step':
      return {
        kind: 'step',
        lr: opts.lr,
        gamma: opts.gamma,
        stepSize: opts.stepSize === undefined ? undefined : steps(opts.stepSize),
        milestones: opts.milestones?.map((m) => Math.round(m * stepsPerEpoch)),
      };
    case 'cosine':
      return {
        kind: 'cosine',
        lr: opts.lr,
        totalSteps,
        warmupSteps: Math.round(opts.warmupEpochs * stepsPerEpoch),
        minLr: opts.minLr,
      };
    case 'onecycle':
      return { kind: 'onecycle', lr: opts.lr, totalSteps, pctStart: opts.pctStart, anneal: opts.anneal };
  }
}
