import { describe, expect, it } from 'vitest';
import { ApgdStepControl, apgdCheckpoints } from './apgd-step-schedule.js';

describe('apgd: the checkpoint schedule', () => {
  it('checks at w_j = ceil(p_j * N), p = 0, 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99', () => {
    expect(apgdCheckpoints(100)).toEqual([22, 41, 57, 70, 80, 87, 93, 99]);
    expect(apgdCheckpoints(1000)).toEqual([220, 410, 570, 700, 800, 870, 930, 990]);
    // Short runs: rounded up, without repeats or a checkpoint at the last step.
    expect(apgdCheckpoints(10)).toEqual([3, 5, 6, 7, 8, 9]);
    expect(apgdCheckpoints(1)).toEqual([]);
  });
});

describe('apgd: the step-size conditions', () => {
  /** Feeds rows of losses (one array per step) and returns the halvings per checkpoint. */
  function run(control: ApgdStepControl, steps: number, lossAt: (step: number) => number[]): Uint8Array[] {
    const halvings: Uint8Array[] = [];
    for (let step = 1; step <= steps; step++) {
      const { halved } = control.observe(lossAt(step));
      if (halved) halvings.push(halved);
    }
    return halvings;
  }

  it('halves where the loss rose in fewer than rho of the steps (condition 1), from the first checkpoint', () => {
    const control = new ApgdStepControl([0, 0], { steps: 100, stepSize: 0.5, rho: 0.75 });
    // Row 0 rises every step; row 1 never moves.
    const halvings = run(control, 22, (step) => [step, 0]);
    expect(halvings).toEqual([Uint8Array.from([0, 1])]);
    expect(Array.from(control.stepSizes)).toEqual([0.5, 0.25]);
    expect(Array.from(control.bestLoss)).toEqual([22, 0]);
  });

  it('halves where the step size and the best loss did not change since the last checkpoint (condition 2)', () => {
    const control = new ApgdStepControl([0, 0], { steps: 100, stepSize: 1, rho: 0.75 });
    // Both rise to 22 by the first checkpoint. Then row 0 keeps rising; row 1 drops to -100 and rises 18 of the
    // 19 steps to checkpoint 41 without beating 22: condition 1 holds not (18 >= 0.75 * 19), condition 2 does.
    const halvings = run(control, 41, (step) => (step <= 22 ? [step, step] : [step, -100 + (step - 23)]));
    expect(halvings).toEqual([Uint8Array.from([0, 0]), Uint8Array.from([0, 1])]);
    expect(Array.from(control.stepSizes)).toEqual([1, 0.5]);
  });

  it('reports the rows whose loss beats their best and keeps rows by index', () => {
    const control = new ApgdStepControl([1, 5, 3], { steps: 100, stepSize: 1, rho: 0.75 });
    expect(Array.from(control.observe([2, 4, 3]).improved)).toEqual([1, 0, 0]);
    control.keep(Int32Array.from([2, 0]));
    expect(Array.from(control.bestLoss)).toEqual([3, 2]);
    expect(Array.from(control.observe([4, 1]).improved)).toEqual([1, 0]);
  });
});
