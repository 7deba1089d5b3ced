import { invalidArgument } from '../errors.js';

/**
 * Learning-rate schedules as pure functions of the optimizer step (0-based). Every length here is counted in
 * optimizer steps; `train` converts the epoch-based options of TrainOptions into steps.
 */
export type ScheduleName = 'constant' | 'step' | 'cosine' | 'onecycle';
export const SCHEDULE_NAMES: readonly ScheduleName[] = ['constant', 'step', 'cosine', 'onecycle'];

export type ScheduleConfig =
  | { kind: 'constant'; lr: number }
  /**
   * Multiply by `gamma` every `stepSize` steps, or, when `milestones` is given, once at each milestone step.
   */
  | { kind: 'step'; lr: number; gamma: number; stepSize?: number; milestones?: readonly number[] }
  /**
   * Linear warm-up from ~0 to `lr` over `warmupSteps`, then half a cosine from `lr` down to `minLr` at
   * `totalSteps` (Loshchilov & Hutter, "SGDR", ICLR 2017, without restarts).
   */
  | { kind: 'cosine'; lr: number; totalSteps: number; warmupSteps?: number; minLr?: number }
  /**
   * One-cycle policy (Smith & Topin, "Super-Convergence", 2017): rise from lr/divFactor to `lr` over the first
   * `pctStart` of the run, then anneal to lr/(divFactor*finalDivFactor), by cosine or linearly. Only the
   * learning rate cycles; momentum stays fixed.
   */
  | {
      kind: 'onecycle';
      lr: number;
      totalSteps: number;
      pctStart?: number;
      divFactor?: number;
      finalDivFactor?: number;
      anneal?: 'cos' | 'linear';
    };

function cosineInterp(from: number, to: number, t: number): number {
  return to + ((from - to) * (1 + Math.cos(Math.PI * t))) / 2;
}

function linearInterp(from: number, to: number, t: number): number {
  return from + (to - from) * t;
}

/** The learning rate at optimizer step `step` (0-based). Steps past the end keep the final value. */
export function learningRateAt(config: ScheduleConfig, step: number): number {
  if (!Number.isInteger(step) || step < 0) {
    throw invalidArgument(`Schedule step must be a non-negative integer, got ${step}.`);
  }
  switch (config.kind) {
    case 'constant':
      return config.lr;
    case 'step': {
      if (config.milestones !== undefined) {
        const passed = config.milestones.filter((m) => step >= m).length;
        return config.lr * config.gamma ** passed;
      }
      const stepSize = config.stepSize ?? 1;
      return config.lr * config.gamma ** Math.floor(step / stepSize);
    }
    case 'cosine': {
      const warmup = config.warmupSteps ?? 0;
      const minLr = config.minLr ?? 0;
      // Warm-up starts at lr/warmup, not 0, so that the first step already moves the weights.
      if (step < warmup) return (config.lr * (step + 1)) / warmup;
      const span = Math.max(1, config.totalSteps - warmup);
      const t = Math.min(1, (step - warmup) / span);
      return cosineInterp(config.lr, minLr, t);
    }
    case 'onecycle': {
      const pctStart = config.pctStart ?? 0.3;
      const initial = config.lr / (config.divFactor ?? 25);
      const final = initial / (config.finalDivFactor ?? 1e4);
      const interp = (config.anneal ?? 'cos') === 'cos' ? cosineInterp : linearInterp;
      // Phase boundaries as in PyTorch's OneCycleLR: the peak at step pctStart*totalSteps - 1, the end at the
      // last step.
      const peak = Math.max(0, pctStart * config.totalSteps - 1);
      const last = config.totalSteps - 1;
      if (step <= peak) return peak === 0 ? config.lr : interp(initial, config.lr, step / peak);
      if (last <= peak) return final;
      return interp(config.lr, final, Math.min(1, (step - peak) / (last - peak)));
    }
  }
}

/** Throws INVALID_ARGUMENT naming the offending field when a schedule config cannot be used. */
export function validateSchedule(config: ScheduleConfig): void {
  const positive = (name: string, v: number | undefined): void => {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) {
      throw invalidArgument(`Schedule option '${name}' must be a positive number, got ${v}.`);
    }
  };
  positive('lr', config.lr);
  if (config.kind === 'step') {
    positive('gamma', config.gamma);
    positive('stepSize', config.stepSize);
    for (const m of config.milestones ?? []) {
      if (!Number.isFinite(m) || m < 0) {
        throw invalidArgument(`Schedule milestones must be non-negative numbers, got ${m}.`);
      }
    }
  }
  if (config.kind === 'cosine' || config.kind === 'onecycle') positive('totalSteps', config.totalSteps);
  if (config.kind === 'cosine') {
    if (config.warmupSteps !== undefined && !(config.warmupSteps >= 0)) {
      throw invalidArgument(`Schedule option 'warmupSteps' must be >= 0, got ${config.warmupSteps}.`);
    }
    if (config.minLr !== undefined && !(config.minLr >= 0 && config.minLr <= config.lr)) {
      throw invalidArgument(`Schedule option 'minLr' must be in [0, lr], got ${config.minLr}.`);
    }
  }
  if (config.kind === 'onecycle') {
    if (config.pctStart !== undefined && !(config.pctStart > 0 && config.pctStart < 1)) {
      throw invalidArgument(`Schedule option 'pctStart' must be in (0, 1), got ${config.pctStart}.`);
    }
    positive('divFactor', config.divFactor);
    positive('finalDivFactor', config.finalDivFactor);
  }
}
