import { describe, expect, it } from 'vitest';
import { learningRateAt, validateSchedule, type ScheduleConfig } from './schedules.js';

const at = (config: ScheduleConfig, steps: number[]): number[] => steps.map((s) => learningRateAt(config, s));

describe('learningRateAt', () => {
  it('constant', () => {
    expect(at({ kind: 'constant', lr: 0.1 }, [0, 5, 1000])).toEqual([0.1, 0.1, 0.1]);
  });

  it('step with stepSize and gamma', () => {
    const values = at({ kind: 'step', lr: 1, gamma: 0.5, stepSize: 3 }, [0, 2, 3, 5, 6, 9]);
    expect(values).toEqual([1, 1, 0.5, 0.5, 0.25, 0.125]);
  });

  it('step with milestones', () => {
    const values = at({ kind: 'step', lr: 1, gamma: 0.1, milestones: [2, 5] }, [0, 1, 2, 4, 5, 100]);
    expect(values.map((v) => +v.toPrecision(12))).toEqual([1, 1, 0.1, 0.1, 0.01, 0.01]);
  });

  it('cosine from lr to minLr, with linear warm-up', () => {
    const c: ScheduleConfig = { kind: 'cosine', lr: 1, totalSteps: 10 };
    expect(learningRateAt(c, 0)).toBe(1);
    expect(learningRateAt(c, 5)).toBeCloseTo(0.5, 12);
    expect(learningRateAt(c, 10)).toBeCloseTo(0, 12);
    expect(learningRateAt(c, 50)).toBeCloseTo(0, 12);
    const w: ScheduleConfig = { kind: 'cosine', lr: 1, totalSteps: 12, warmupSteps: 2, minLr: 0.1 };
    expect(at(w, [0, 1, 2])).toEqual([0.5, 1, 1]);
    expect(learningRateAt(w, 7)).toBeCloseTo(0.55, 12); // halfway through the 10 cosine steps
    expect(learningRateAt(w, 12)).toBeCloseTo(0.1, 12);
  });

  it('one-cycle rises to lr and anneals far below the start (cosine and linear)', () => {
    const c: ScheduleConfig = { kind: 'onecycle', lr: 1, totalSteps: 100, pctStart: 0.3 };
    // As PyTorch's OneCycleLR: start at lr/25, peak at step 0.3*100-1 = 29, end at lr/25/1e4 at step 99.
    expect(learningRateAt(c, 0)).toBeCloseTo(0.04, 12);
    expect(learningRateAt(c, 29)).toBeCloseTo(1, 12);
    expect(learningRateAt(c, 99)).toBeCloseTo(0.04 / 1e4, 12);
    expect(learningRateAt(c, 500)).toBeCloseTo(0.04 / 1e4, 12);
    expect(learningRateAt(c, 64)).toBeCloseTo(0.5 + 0.04 / 1e4 / 2, 12); // cosine halfway down
    const rising = at(c, [0, 10, 20, 29]);
    expect(rising).toEqual([...rising].sort((a, b) => a - b));
    const lin: ScheduleConfig = {
      kind: 'onecycle',
      lr: 1,
      totalSteps: 10,
      pctStart: 0.5,
      anneal: 'linear',
      divFactor: 10,
      finalDivFactor: 10,
    };
    // peak at step 4, last step 9: linear up 0.1 -> 1, then linear down 1 -> 0.01.
    expect(learningRateAt(lin, 2)).toBeCloseTo(0.55, 12);
    expect(learningRateAt(lin, 4)).toBeCloseTo(1, 12);
    expect(learningRateAt(lin, 6)).toBeCloseTo(0.604, 12);
    expect(learningRateAt(lin, 9)).toBeCloseTo(0.01, 12);
  });

  it('rejects bad steps and bad configs', () => {
    expect(() => learningRateAt({ kind: 'constant', lr: 1 }, -1)).toThrow(/non-negative integer/);
    expect(() => learningRateAt({ kind: 'constant', lr: 1 }, 1.5)).toThrow(/non-negative integer/);
    expect(() => validateSchedule({ kind: 'step', lr: 1, gamma: 0, stepSize: 2 })).toThrow(/gamma/);
    expect(() => validateSchedule({ kind: 'onecycle', lr: 1, totalSteps: 10, pctStart: 1 })).toThrow(
      /pctStart/,
    );
    expect(() => validateSchedule({ kind: 'cosine', lr: 1, totalSteps: 10, minLr: 2 })).toThrow(/minLr/);
    expect(() => validateSchedule({ kind: 'constant', lr: -1 })).toThrow(/'lr'/);
  });
});
