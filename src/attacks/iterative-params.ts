import { field } from '../util/schema.js';
import { LOSS_NAMES } from './losses.js';
import type { IterativeSettings } from './iterative.js';
import type { AttackContext } from './types.js';

/** The schema fields the iterative attacks share; each attack picks its own defaults. */
export function iterativeFields(d: {
  steps: number;
  relStepSize: number;
  randomStart: boolean;
  restarts?: number;
}) {
  return {
    steps: field.integer({ default: d.steps, min: 1, description: 'Number of gradient steps.' }),
    relStepSize: field.number({
      default: d.relStepSize,
      min: 0,
      exclusiveMin: true,
      description: 'Step size as a fraction of eps (ignored when stepSize is given).',
    }),
    stepSize: field.number({
      min: 0,
      exclusiveMin: true,
      description: 'Absolute step size in input units (L1: the L1 length of a step); overrides relStepSize.',
    }),
    randomStart: field.boolean({
      default: d.randomStart,
      description: 'Start from a uniform random point of the eps-ball.',
    }),
    restarts: field.integer({
      default: d.restarts ?? 1,
      min: 1,
      description: 'Runs from new random starts; each example keeps its best result.',
    }),
    loss: field.choice(LOSS_NAMES, {
      default: 'ce',
      description: 'Loss on logits: cross-entropy, C&W margin or DLR.',
    }),
    earlyStop: field.boolean({
      default: true,
      description: 'Stop each example once adversarial (off: run every step and return the last iterate).',
    }),
    l1Sparsity: field.number({
      default: 0.01,
      min: 0,
      max: 1,
      exclusiveMin: true,
      description: 'L1 only: fraction of input values one sparse step changes.',
    }),
  };
}

interface IterativeParams {
  steps: number;
  relStepSize: number;
  stepSize: number | undefined;
  randomStart: boolean;
  restarts: number;
  loss: IterativeSettings['loss'];
  earlyStop: boolean;
  l1Sparsity: number;
}

/** Settings for the engine from the parsed parameters and the batch's budget. */
export function iterativeSettings(ctx: AttackContext, p: IterativeParams, momentum = 0): IterativeSettings {
  return {
    steps: p.steps,
    stepSize: p.stepSize ?? p.relStepSize * ctx.eps,
    randomStart: p.randomStart,
    restarts: p.restarts,
    loss: p.loss,
    momentum,
    earlyStop: p.earlyStop,
    l1Sparsity: p.l1Sparsity,
  };
}
