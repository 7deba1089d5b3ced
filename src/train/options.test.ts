import { describe, expect, it } from 'vitest';
import type { AugmentName } from './augment.js';
import type { OptimizerName } from '../optim/optimizers.js';
import type { ScheduleName } from './schedules.js';
import { resolveTrainOptions, scheduleConfig, type TrainOptions } from './options.js';

/** A string from an untyped caller (JSON, a CLI flag) that the type system would reject. */
function unchecked<T extends string>(value: string): T {
  return value as T;
}

const base: TrainOptions = { epochs: 2, batchSize: 32, optimizer: 'sgd', lr: 0.1, seed: 0 };

describe('resolveTrainOptions', () => {
  it('fills in documented defaults', () => {
    expect(resolveTrainOptions(base)).toEqual({
      ...base,
      momentum: 0.9,
      nesterov: false,
      beta1: 0.9,
      beta2: 0.999,
      weightDecay: 0,
      weightDecayMode: 'coupled',
      schedule: 'constant',
      gamma: 0.1,
      warmupEpochs: 0,
      minLr: 0,
      pctStart: 0.3,
      anneal: 'cos',
      labelSmoothing: 0,
      augment: 'none',
      accumulate: 1,
      shuffle: true,
      checkpointEvery: 0,
    });
  });

  it('resolves the adversarial options with their defaults, and leaves them out for standard training', () => {
    expect(resolveTrainOptions({ ...base, adversarial: { method: 'trades', eps: 0.3 } }).adversarial).toEqual(
      {
        method: 'trades',
        norm: 'linf',
        eps: 0.3,
        epsWarmup: 0,
        steps: 10,
        stepSize: 0.075,
        beta: 6,
      },
    );
    expect('adversarial' in resolveTrainOptions(base)).toBe(false);
    // noiseSigma, like adversarial, is present only when on (runs without noise keep their old options).
    expect('noiseSigma' in resolveTrainOptions({ ...base, noiseSigma: 0 })).toBe(false);
    expect(resolveTrainOptions({ ...base, noiseSigma: 0.25 }).noiseSigma).toBe(0.25);
    expect(() => resolveTrainOptions({ ...base, adversarial: { method: 'pgd', eps: 0 } })).toThrow(
      /Adversarial option 'eps' must be a positive number/,
    );
  });

  it('names the bad option and what it expects', () => {
    const bad: [Partial<TrainOptions>, RegExp][] = [
      [{ epochs: 0 }, /'epochs' must be a positive integer, got 0/],
      [{ lr: -1 }, /'lr' must be a positive number/],
      [
        { optimizer: unchecked<OptimizerName>('rmsprop') },
        /'optimizer' must be one of sgd, adam, got 'rmsprop'/,
      ],
      [
        { schedule: unchecked<ScheduleName>('linear') },
        /'schedule' must be one of constant, step, cosine, onecycle/,
      ],
      [{ momentum: 1 }, /'momentum' must be in \[0, 1\)/],
      [{ labelSmoothing: 1 }, /'labelSmoothing' must be in \[0, 1\)/],
      [{ augment: unchecked<AugmentName>('mixup') }, /'augment' must be one of none, crop-flip/],
      [{ accumulate: 1.5 }, /'accumulate' must be a positive integer/],
      [{ seed: 0.5 }, /'seed' must be an integer/],
      [{ optimizer: 'adam', nesterov: true }, /'nesterov' needs optimizer 'sgd'/],
      [{ schedule: 'step' }, /needs 'stepSize' \(epochs\) or 'milestones'/],
      [{ schedule: 'step', stepSize: 1, milestones: [1] }, /either 'stepSize' or 'milestones', not both/],
      [{ schedule: 'step', milestones: [-1] }, /'milestones' must be a list of epoch numbers >= 0/],
      [{ stepSize: 2 }, /'stepSize' and 'milestones' need schedule 'step' \(schedule is 'constant'\)/],
      [{ minLr: 1 }, /'minLr' \(1\) must not exceed 'lr' \(0.1\)/],
      [{ noiseSigma: -0.1 }, /'noiseSigma' must be a number >= 0 \(0 = no noise\), got -0.1/],
      [{ noiseSigma: Infinity }, /'noiseSigma' must be a number >= 0/],
      [
        { noiseSigma: 0.25, adversarial: { method: 'pgd', eps: 0.1 } },
        /'noiseSigma' \(Gaussian noise augmentation\) applies only to standard training, not with 'adversarial'/,
      ],
    ];
    for (const [change, message] of bad) {
      expect(() => resolveTrainOptions({ ...base, ...change })).toThrow(message);
    }
  });
});

describe('scheduleConfig', () => {
  it('turns epoch-based options into steps', () => {
    const opts = (change: Partial<TrainOptions>) => resolveTrainOptions({ ...base, epochs: 4, ...change });
    expect(scheduleConfig(opts({ schedule: 'step', stepSize: 1.5, gamma: 0.5 }), 10)).toEqual({
      kind: 'step',
      lr: 0.1,
      gamma: 0.5,
      stepSize: 15,
      milestones: undefined,
    });
    expect(scheduleConfig(opts({ schedule: 'step', milestones: [3, 1] }), 10)).toMatchObject({
      milestones: [10, 30],
    });
    expect(scheduleConfig(opts({ schedule: 'cosine', warmupEpochs: 0.5 }), 10)).toEqual({
      kind: 'cosine',
      lr: 0.1,
      totalSteps: 40,
      warmupSteps: 5,
      minLr: 0,
    });
    expect(scheduleConfig(opts({ schedule: 'onecycle', anneal: 'linear' }), 10)).toEqual({
      kind: 'onecycle',
      lr: 0.1,
      totalSteps: 40,
      pctStart: 0.3,
      anneal: 'linear',
    });
  });
});
