import { field } from '../util/schema.js';
import { fabAttack, fabFields, rankedOthers } from './fab.js';
import { defineAttack } from './types.js';

const schema = {
  ...fabFields,
  targetClasses: field.integer({
    default: 9,
    min: 1,
    description: 'Target classes tried in turn: the top-k other classes by clean logit.',
  }),
};

/**
 * FAB-T, the targeted Fast Adaptive Boundary attack as AutoAttack runs it (Croce & Hein 2020, "Reliable
 * evaluation of adversarial robustness with an ensemble of diverse parameter-free attacks", sec. 4; the
 * attack itself: Croce & Hein 2020, "Minimally distorted adversarial examples with a fast adaptive boundary
 * attack"). An untargeted attack: for each of the top `targetClasses` other classes by clean logit in turn,
 * FAB linearises only the boundary between the true class and that target (one gradient per step instead of
 * one per class) on the examples not yet fooled within eps; any misclassification counts. The FAB steps,
 * restarts and final search are those of fab.ts.
 *
 * Parameters (defaults as AutoAttack's standard suite): targetClasses 9, steps 100, restarts 1 per target,
 * alphaMax 0.1, eta 1.05, beta 0.9, finalSearch 3.
 *
 * @example runAttack(model, fabT, { x, labels, norm: 'linf', eps: 0.3 })
 */
export const fabT = defineAttack({
  name: 'fab-t',
  title: 'FAB-T (Croce & Hein 2020): FAB towards each of the top-k other classes, as in AutoAttack',
  norms: ['linf', 'l2', 'l1'],
  budget: 'fixed',
  targeted: false,
  schema,
  run: (ctx, p) =>
    fabAttack(ctx, p, (clean) =>
      rankedOthers(clean, ctx.labels, Math.min(p.targetClasses, ctx.classifier.numClasses - 1)).flatMap(
        (targets) =>
          Array.from({ length: p.restarts }, (_, r) => ({ linearise: { targets }, randomStart: r > 0 })),
      ),
    ),
});
