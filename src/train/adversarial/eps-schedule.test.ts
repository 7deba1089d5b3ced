import { describe, expect, it } from 'vitest';
import { epsAt, epsWarmupSteps, scaledStepSize } from './eps-schedule.js';

describe('eps warm-up', () => {
  it('rises linearly from 0 and reaches the target exactly at the scheduled step', () => {
    const w = epsWarmupSteps(2, 5); // 2 epochs of 5 steps
    expect(w).toBe(10);
    expect(epsAt(0, 0.3, w)).toBe(0);
    expect(epsAt(5, 0.3, w)).toBeCloseTo(0.15, 12);
    expect(epsAt(9, 0.3, w)).toBeLessThan(0.3);
    expect(epsAt(10, 0.3, w)).toBe(0.3);
    expect(epsAt(1000, 0.3, w)).toBe(0.3);
    const values = Array.from({ length: 12 }, (_, s) => epsAt(s, 0.3, w));
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]);
  });

  it('without warm-up is the full eps from the first step; fractional epochs round to steps', () => {
    expect(epsAt(0, 0.1, 0)).toBe(0.1);
    expect(epsWarmupSteps(0.5, 7)).toBe(4);
    expect(epsWarmupSteps(0, 7)).toBe(0);
  });

  it('scales the step size with the budget', () => {
    expect(scaledStepSize(0.01, 0.15, 0.3)).toBeCloseTo(0.005, 12);
    expect(scaledStepSize(0.01, 0.3, 0.3)).toBe(0.01);
  });
});
