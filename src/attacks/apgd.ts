import * as tf from '@tensorflow/tfjs-core';
import { field, type Params } from '../util/schema.js';
import { APGD_LOSSES } from './apgd-loss.js';
import { apgdRun, runUnits } from './apgd-run.js';
import { BestPoints } from './best-points.js';
import { defineAttack, type AttackContext } from './types.js';

/** The fields APGD and APGD-T share. */
export function apgdFields() {
  return {
    steps: field.integer({
      default: 100,
      min: 1,
      description: 'Iterations per run (one gradient each; the last iterate is only scored).',
    }),
    restarts: field.integer({
      default: 1,
      min: 1,
      description: 'Runs from new random starts for the examples not yet adversarial.',
    }),
    rho: field.number({
      default: 0.75,
      min: 0,
      max: 1,
      description:
        'Halve the step size at a checkpoint where fewer than this fraction of steps raised the loss.',
    }),
    momentum: field.number({
      default: 0.75,
      min: 0,
      max: 1,
      exclusiveMin: true,
      description:
        'alpha: weight of the new step; 1 - alpha goes to the previous move (1 turns momentum off).',
    }),
  };
}

const schema = {
  ...apgdFields(),
  loss: field.choice(APGD_LOSSES, {
    default: 'ce',
    description: 'Cross-entropy or the Difference of Logits Ratio (targeted goals: their targeted forms).',
  }),
};

/**
 * Auto-PGD (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of diverse
 * parameter-free attacks"), Linf and L2: PGD with momentum whose per-example step size starts at 2 * eps and is
 * halved at checkpoints (22%, 41%, 57%, ... of the steps) when the loss stalls or oscillates, each halving
 * restarting from the best point found; the examples not yet adversarial get new random starts. With the 'ce'
 * loss it is AutoAttack's APGD-CE, with 'dlr' APGD-DLR. Targeted goals ascend the targeted CE or DLR.
 * L1 is l1-APGD (Croce & Hein 2021, "Mind the box: l1-APGD for sparse adversarial attacks on image
 * classifiers"): sparse steps whose sparsity and size adapt every 4% of the steps, no momentum (rho and momentum
 * are unused), and AutoAttack's radii 3 eps, 2 eps, eps over 30%, 30% and 40% of the steps.
 *
 * Parameters (the paper's): steps 100, restarts 1, loss 'ce', rho 0.75, momentum (alpha) 0.75. (AutoAttack's L1
 * version runs 5 restarts.)
 *
 * @example runAttack(model, apgd, { x, labels, eps: 8 / 255, params: { loss: 'dlr' } })
 */
export const apgd = defineAttack({
  name: 'apgd',
  title: 'Auto-PGD (Croce & Hein 2020), step-size-free PGD with CE or DLR loss, Linf / L2 / L1',
  norms: ['linf', 'l2', 'l1'],
  budget: 'fixed',
  targeted: true,
  schema,
  run: (ctx, p) => apgdAttack(ctx, p),
});

async function apgdAttack(ctx: AttackContext, p: Params<typeof schema>): Promise<tf.Tensor4D> {
  const best = new BestPoints(ctx.x, cleanMet(ctx));
  const settings = {
    steps: p.steps,
    rho: p.rho,
    momentum: p.momentum,
    loss: p.loss,
    lossTargets: ctx.targets,
  };
  const perRun = runUnits(ctx.norm, p.steps);
  for (let restart = 0; restart < p.restarts; restart++) {
    const rows = best.pending();
    if (rows.length === 0) break;
    await apgdRun(ctx, settings, rows, best, { offset: restart * perRun, total: p.restarts * perRun });
  }
  return best.result();
}

/** Which examples already meet the goal on their clean input (they are not attacked). */
function cleanMet(ctx: AttackContext): Uint8Array {
  const logits = ctx.logits(ctx.x);
  const met = ctx.isAdversarial(
    logits,
    Int32Array.from(ctx.labels, (_, i) => i),
  );
  logits.dispose();
  return met;
}
