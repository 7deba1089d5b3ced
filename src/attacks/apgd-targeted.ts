import * as tf from '@tensorflow/tfjs-core';
import { field, type Params } from '../util/schema.js';
import { apgdFields } from './apgd.js';
import { apgdRun, runUnits } from './apgd-run.js';
import { BestPoints } from './best-points.js';
import { defineAttack, type AttackContext } from './types.js';

const schema = {
  ...apgdFields(),
  targetClasses: field.integer({
    default: 9,
    min: 1,
    description: 'How many of the highest-ranked other classes (by clean logit) to target in turn.',
  }),
};

/**
 * APGD-T (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of diverse
 * parameter-free attacks", sec. 4): an untargeted attack made of targeted runs. For each of the
 * `targetClasses` classes ranked highest by the clean logits after the true one (at most all others), APGD
 * ascends the targeted DLR loss -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2) towards that class on the
 * examples not yet misclassified; any misclassification counts as success.
 *
 * Parameters (AutoAttack's standard version): steps 100, restarts 1 (per target class), targetClasses 9,
 * rho 0.75, momentum (alpha) 0.75.
 *
 * @example runAttack(model, apgdT, { x, labels, eps: 0.3, params: { targetClasses: 3 } })
 */
export const apgdT = defineAttack({
  name: 'apgd-t',
  title: 'APGD-T (Croce & Hein 2020), APGD on the targeted DLR loss over the top classes, Linf / L2 / L1',
  norms: ['linf', 'l2', 'l1'],
  budget: 'fixed',
  targeted: false,
  schema,
  run: (ctx, p) => apgdTargetedAttack(ctx, p),
});

async function apgdTargetedAttack(ctx: AttackContext, p: Params<typeof schema>): Promise<tf.Tensor4D> {
  const n = ctx.x.shape[0];
  const logits = ctx.logits(ctx.x);
  const best = new BestPoints(
    ctx.x,
    ctx.isAdversarial(
      logits,
      Int32Array.from({ length: n }, (_, i) => i),
    ),
  );
  const ranked = rankOtherClasses(logits.arraySync(), ctx.labels);
  logits.dispose();
  const targets = Math.min(p.targetClasses, ranked[0]?.length ?? 0);
  const perRun = runUnits(ctx.norm, p.steps);
  const total = targets * p.restarts * perRun;
  for (let k = 0; k < targets; k++) {
    const lossTargets = Int32Array.from(ranked, (classes) => classes[k]);
    const settings = { steps: p.steps, rho: p.rho, momentum: p.momentum, loss: 'dlr' as const, lossTargets };
    for (let restart = 0; restart < p.restarts; restart++) {
      const rows = best.pending();
      if (rows.length === 0) return best.result();
      await apgdRun(ctx, settings, rows, best, { offset: (k * p.restarts + restart) * perRun, total });
    }
  }
  return best.result();
}

/** Per example, the classes other than its label by decreasing clean logit. */
export function rankOtherClasses(logits: readonly (readonly number[])[], labels: Int32Array): number[][] {
  return logits.map((z, i) =>
    z
      .map((_, c) => c)
      .filter((c) => c !== labels[i])
      .sort((a, b) => z[b] - z[a] || a - b),
  );
}
