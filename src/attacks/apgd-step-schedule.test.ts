import { describe, expect, it } from 'vitest';
import {
  ApgdL1StepControl,
  ApgdStepControl,
  apgdCheckpoints,
  type StepControl,
} from './apgd-step-schedule.js';

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
  function run(
    control: StepControl,
    steps: number,
    lossAt: (step: number) => number[],
    bestL0: (step: number) => number[] = () => [],
  ): Uint8Array[] {
    const halvings: Uint8Array[] = [];
    for (let step = 1; step <= steps; step++) {
      control.observe(lossAt(step));
      const halved = control.checkpoint(() => Float32Array.from(bestL0(step)));
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
    expect(Array.from(control.observe([2, 4, 3]))).toEqual([1, 0, 0]);
    control.keep(Int32Array.from([2, 0]));
    expect(Array.from(control.bestLoss)).toEqual([3, 2]);
    expect(Array.from(control.observe([4, 1]))).toEqual([1, 0]);
  });

  it('L1: every 4% of the steps, sparsity from the best point; step back to eps where it got sparser, else / 1.5', () => {
    const control = new ApgdL1StepControl([0, 0], {
      steps: 100,
      stepSize: 9,
      dim: 300,
      startL0: Float32Array.from([150, 150]),
    });
    expect(Array.from(control.sparsity)).toEqual([Math.fround(1 / 3), Math.fround(1 / 3)]);
    // Row 0's best point keeps 150 changed values, row 1's drops to 120 (-20%) at the first checkpoint (step 4).
    const resets = run(
      control,
      4,
      (step) => [step, step],
      () => [150, 120],
    );
    expect(resets).toEqual([Uint8Array.from([0, 1])]);
    expect(Array.from(control.stepSizes)).toEqual([6, 9]);
    expect(Array.from(control.sparsity)).toEqual([Math.fround(1 / 3), Math.fround(120 / 300 / 1.5)]);
    // Never below eps / 10.
    run(
      control,
      40,
      (step) => [step, step],
      () => [150, 120],
    );
    expect(Array.from(control.stepSizes)).toEqual([Math.fround(0.9), Math.fround(0.9)]);
  });
});
