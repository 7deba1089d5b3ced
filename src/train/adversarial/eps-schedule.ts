/**
 * The eps warm-up: the budget rises linearly from 0 at step 0 to the full eps at step `warmupSteps`, and stays
 * there (warmupSteps 0: the full eps from the first step). Steps are optimizer steps, 0-based.
 */
export function epsAt(step: number, eps: number, warmupSteps: number): number {
  if (warmupSteps <= 0 || step >= warmupSteps) return eps;
  return (eps * Math.max(0, step)) / warmupSteps;
}

/** Warm-up length in optimizer steps for `epochs` (fractional allowed) of `stepsPerEpoch` steps. */
export function epsWarmupSteps(epochs: number, stepsPerEpoch: number): number {
  return Math.round(epochs * stepsPerEpoch);
}

/** The step size at a warmed-up eps: the configured step size (at the full eps) scales with the budget. */
export function scaledStepSize(stepSize: number, eps: number, fullEps: number): number {
  return (stepSize * eps) / fullEps;
}
