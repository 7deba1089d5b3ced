import type { ImageDataset } from '../../data/dataset.js';
import { invalidArgument } from '../../errors.js';
import type { Classifier } from '../../models/classifier.js';

/**
 * How `train` hardens a model (TrainOptions.adversarial). Budgets are in input (pixel) units, within the
 * classifier's bounds, like the attacks'.
 *
 * - 'pgd': Madry, Makelov, Schmidt, Tsipras & Vladu 2018, "Towards Deep Learning Models Resistant to
 *   Adversarial Attacks": minimise the loss on the PGD adversarial example of each batch. Norms linf, l2.
 *   steps default 10 (the paper used 40 on MNIST, 7 on CIFAR-10); stepSize default 2.5 * eps / steps (a common
 *   rule: the steps together can cross the ball 2.5 times, so the last iterate can reach its boundary from any
 *   start; the paper's 0.01 at eps 0.3 with 40 steps is 1.33 * eps / steps); randomStart default true.
 * - 'fgsm-rs': Wong, Rice & Kolter 2020, "Fast is better than free: Revisiting adversarial training": one
 *   FGSM step of stepSize (default 1.25 * eps, the paper's alpha) from a uniform random start in the ball,
 *   projected. Linf only (the paper's setting). `guard` (default on) watches for catastrophic overfitting:
 *   see GuardOptions.
 * - 'free': Shafahi et al. 2019, "Adversarial Training for Free!": each batch is replayed `replays` times
 *   (m, default 8); one backward pass gives the weight gradient (one optimizer step per replay) and the
 *   perturbation's, delta <- clip(delta + stepSize * sign(g_delta), -eps, eps) (stepSize default eps, as in
 *   the paper), and delta carries over to the next batch (the paper's warm start). Linf only. `epochs` counts
 *   passes over the data, each doing `replays` optimizer steps per batch: the paper's budget of N epochs of
 *   standard training corresponds to epochs = N / m.
 * - 'trades': Zhang, Yu, Jiao, Xing, El Ghaoui & Jordan 2019, "Theoretically Principled Trade-off between
 *   Robustness and Accuracy": loss CE(f(x), y) + beta * KL(softmax f(x) || softmax f(x')), beta default 6;
 *   x' maximises that KL from x + 0.001 * N(0, 1) with `steps` (default 10) steps of stepSize (default eps / 4,
 *   0.007 at the paper's CIFAR-10 eps 0.031) along sign(g) (linf) or g / ||g||_2 (l2), each projected onto the
 *   ball and the bounds.
 *
 * Shared: the inner maximisation runs the model in inference mode (as the reference implementations do with
 * model.eval()), the weight update in training mode. `epsWarmup` (epochs, fractional allowed, default 0) raises
 * eps linearly from 0 to eps over that many epochs, the step size in proportion. `cleanWeight` w (pgd,
 * fgsm-rs, free; default 0) trains on w * CE(clean) + (1 - w) * CE(adversarial), the mix of Goodfellow, Shlens
 * & Szegedy 2015 ("Explaining and Harnessing Adversarial Examples", w = 0.5).
 */
export type AdversarialMethod = 'pgd' | 'fgsm-rs' | 'free' | 'trades';
export const ADVERSARIAL_METHODS: readonly AdversarialMethod[] = ['pgd', 'fgsm-rs', 'free', 'trades'];

export type AdversarialNorm = 'linf' | 'l2';

/** The norms each method is defined for (in its paper). */
export const ADVERSARIAL_METHOD_NORMS: Readonly<Record<AdversarialMethod, readonly AdversarialNorm[]>> = {
  pgd: ['linf', 'l2'],
  'fgsm-rs': ['linf'],
  free: ['linf'],
  trades: ['linf', 'l2'],
};

export interface AdversarialOptions {
  method: AdversarialMethod;
  /** The budget, in (0, the bounds' range] for linf (for l2: up to the range times sqrt(pixels)). */
  eps: number;
  /** Default 'linf'. */
  norm?: AdversarialNorm;
  /** pgd, trades: inner steps (default 10). */
  steps?: number;
  /** Absolute step size at the full eps (defaults: see AdversarialMethod). */
  stepSize?: number;
  /** pgd (default true), fgsm-rs (default true; false is plain FGSM training, which overfits catastrophically). */
  randomStart?: boolean;
  /** free: replays of each batch (default 8). */
  replays?: number;
  /** trades: weight of the KL term (default 6). */
  beta?: number;
  /** Epochs over which eps rises linearly from 0 (default 0: full eps from the first step). */
  epsWarmup?: number;
  /** pgd, fgsm-rs, free: weight of the clean cross-entropy in [0, 1) (default 0). */
  cleanWeight?: number;
  /** fgsm-rs: the catastrophic-overfitting guard (default true); false turns it off. */
  guard?: boolean | GuardOptions;
}

/**
 * The guard of fgsm-rs (after Wong et al. 2020, who check PGD accuracy on a training batch during
 * training and stop early when it collapses): after each epoch, PGD with `steps` steps of 2.5 * eps / steps
 * (1 restart, the full eps) on a fixed seeded batch of `batchSize` images (from hooks.eval when given, else
 * from the training data, as in the paper); the weights of the epoch with the best robust accuracy are kept
 * and restored when the run completes; a drop below half of the best is reported as a collapse.
 */
export interface GuardOptions {
  /** Default 256. */
  batchSize?: number;
  /** Default 10. */
  steps?: number;
}

interface Common {
  norm: AdversarialNorm;
  eps: number;
  epsWarmup: number;
}

export type ResolvedGuardOptions = Required<GuardOptions>;

export type ResolvedAdversarialOptions =
  | (Common & { method: 'pgd'; steps: number; stepSize: number; randomStart: boolean; cleanWeight: number })
  | (Common & {
      method: 'fgsm-rs';
      stepSize: number;
      randomStart: boolean;
      cleanWeight: number;
      guard: ResolvedGuardOptions | false;
    })
  | (Common & { method: 'free'; replays: number; stepSize: number; cleanWeight: number })
  | (Common & { method: 'trades'; steps: number; stepSize: number; beta: number });

/**
 * Which options each method takes beyond method, eps, norm and epsWarmup (others are refused, so that a
 * mistyped combination is not silently ignored).
 */
export const ADVERSARIAL_METHOD_OPTIONS: Readonly<
  Record<AdversarialMethod, readonly (keyof AdversarialOptions)[]>
> = {
  pgd: ['steps', 'stepSize', 'randomStart', 'cleanWeight'],
  'fgsm-rs': ['stepSize', 'randomStart', 'cleanWeight', 'guard'],
  free: ['replays', 'stepSize', 'cleanWeight'],
  trades: ['steps', 'stepSize', 'beta'],
};
const SHARED_OPTIONS: readonly (keyof AdversarialOptions)[] = ['method', 'eps', 'norm', 'epsWarmup'];

const DEFAULT_STEPS = 10;
const DEFAULT_REPLAYS = 8;
const DEFAULT_BETA = 6;
const DEFAULT_GUARD: ResolvedGuardOptions = { batchSize: 256, steps: 10 };

function bad(name: string, expected: string, got: unknown): never {
  throw invalidArgument(`Adversarial option '${name}' must be ${expected}, got ${String(got)}.`);
}

function num(
  name: string,
  value: number | undefined,
  fallback: number,
  ok: (v: number) => boolean,
  expected: string,
): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) bad(name, expected, v);
  return v;
}

const positiveInt = (v: number): boolean => Number.isInteger(v) && v >= 1;

/** Checks the options without the model (see assertAdversarialFits for the bounds) and fills in the defaults. */
export function resolveAdversarialOptions(opts: AdversarialOptions): ResolvedAdversarialOptions {
  if (typeof opts !== 'object' || opts === null) bad('adversarial', 'an object with method and eps', opts);
  const method = opts.method;
  if (!ADVERSARIAL_METHODS.includes(method)) {
    throw invalidArgument(
      `Unknown adversarial training method '${String(method)}'; expected one of ${ADVERSARIAL_METHODS.join(', ')}.`,
    );
  }
  const allowed = [...SHARED_OPTIONS, ...ADVERSARIAL_METHOD_OPTIONS[method]];
  for (const [key, value] of Object.entries(opts)) {
    if (value !== undefined && !allowed.includes(key as keyof AdversarialOptions)) {
      const takers = ADVERSARIAL_METHODS.filter((m) =>
        ADVERSARIAL_METHOD_OPTIONS[m].includes(key as keyof AdversarialOptions),
      );
      throw invalidArgument(
        takers.length > 0
          ? `Adversarial option '${key}' is for method ${takers.map((m) => `'${m}'`).join(' or ')}, not '${method}'.`
          : `Unknown adversarial option '${key}'; '${method}' takes ${allowed.join(', ')}.`,
      );
    }
  }
  const norm = opts.norm ?? 'linf';
  if (!ADVERSARIAL_METHOD_NORMS[method].includes(norm)) {
    throw invalidArgument(
      `Adversarial training '${method}' supports the norm${ADVERSARIAL_METHOD_NORMS[method].length > 1 ? 's' : ''} ${ADVERSARIAL_METHOD_NORMS[method].join(', ')}, not '${String(norm)}'.`,
    );
  }
  const eps = num('eps', opts.eps, NaN, (v) => v > 0, 'a positive number (the budget in input units)');
  const common: Common = {
    norm,
    eps,
    epsWarmup: num('epsWarmup', opts.epsWarmup, 0, (v) => v >= 0, 'a number of epochs >= 0'),
  };
  const stepSize = (fallback: number): number =>
    num('stepSize', opts.stepSize, fallback, (v) => v > 0, 'a positive number (input units)');
  const cleanWeight = (): number =>
    num(
      'cleanWeight',
      opts.cleanWeight,
      0,
      (v) => v >= 0 && v < 1,
      'in [0, 1) (1 would be standard training)',
    );
  const steps = (): number => num('steps', opts.steps, DEFAULT_STEPS, positiveInt, 'an integer >= 1');
  switch (method) {
    case 'pgd': {
      const n = steps();
      return {
        method,
        ...common,
        steps: n,
        stepSize: stepSize((2.5 * eps) / n),
        randomStart: opts.randomStart ?? true,
        cleanWeight: cleanWeight(),
      };
    }
    case 'fgsm-rs':
      return {
        method,
        ...common,
        stepSize: stepSize(1.25 * eps),
        randomStart: opts.randomStart ?? true,
        cleanWeight: cleanWeight(),
        guard: resolveGuard(opts.guard),
      };
    case 'free':
      return {
        method,
        ...common,
        replays: num('replays', opts.replays, DEFAULT_REPLAYS, positiveInt, 'an integer >= 1'),
        stepSize: stepSize(eps),
        cleanWeight: cleanWeight(),
      };
    case 'trades':
      return {
        method,
        ...common,
        steps: steps(),
        stepSize: stepSize(eps / 4),
        beta: num('beta', opts.beta, DEFAULT_BETA, (v) => v >= 0, 'a number >= 0'),
      };
  }
}

function resolveGuard(guard: boolean | GuardOptions | undefined): ResolvedGuardOptions | false {
  if (guard === false) return false;
  if (guard === undefined || guard === true) return { ...DEFAULT_GUARD };
  return {
    batchSize: num(
      'guard.batchSize',
      guard.batchSize,
      DEFAULT_GUARD.batchSize,
      positiveInt,
      'an integer >= 1',
    ),
    steps: num('guard.steps', guard.steps, DEFAULT_GUARD.steps, positiveInt, 'an integer >= 1'),
  };
}

/** The largest meaningful budget: the bounds' range (linf), or the diagonal of the input box (l2). */
export function maxEps(norm: AdversarialNorm, bounds: readonly [number, number], pixels: number): number {
  const range = bounds[1] - bounds[0];
  return norm === 'linf' ? range : range * Math.sqrt(pixels);
}

/**
 * Throws INVALID_ARGUMENT when the budget does not fit the classifier's input box, or when the data has no
 * usable label for every image (the inner maximisation needs the true class).
 */
export function assertAdversarialFits(
  adv: ResolvedAdversarialOptions,
  classifier: Classifier,
  data: ImageDataset,
): void {
  const [h, w, c] = classifier.inputShape;
  const limit = maxEps(adv.norm, classifier.bounds, h * w * c);
  if (adv.eps > limit) {
    throw invalidArgument(
      `Adversarial option 'eps' ${adv.eps} is outside (0, ${limit}]: the model's inputs lie in [${classifier.bounds.join(', ')}]` +
        (adv.norm === 'l2'
          ? ` (${h}x${w}x${c} values), so no ${adv.norm} perturbation is larger.`
          : ', so no perturbation is larger.'),
    );
  }
  if (data.labels.length !== data.count) {
    throw invalidArgument(
      `Adversarial training needs a label for every image, but dataset '${data.name}' (${data.split}) has ${data.labels.length} labels for ${data.count} images.`,
    );
  }
  for (let i = 0; i < data.count; i++) {
    const label = data.labels[i];
    if (!(label >= 0 && label < classifier.numClasses)) {
      throw invalidArgument(
        `Adversarial training needs a label for every image, but image ${i} of dataset '${data.name}' (${data.split}) has label ${label}; expected 0..${classifier.numClasses - 1}.`,
      );
    }
  }
}
