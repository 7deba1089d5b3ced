import { defineAttack } from './types.js';
import { iterativeAttack } from './iterative.js';
import { iterativeFields, iterativeSettings } from './iterative-params.js';

/**
 * Basic Iterative Method (Kurakin, Goodfellow & Bengio 2017, "Adversarial examples in the physical world"):
 * iterated FGSM from the clean input, clipped to the eps-ball and the bounds after each step; PGD without the
 * random start.
 *
 * Parameters (defaults as Foolbox's LinfBasicIterativeAttack): steps 10, relStepSize 0.2, randomStart false,
 * restarts 1, loss 'ce', earlyStop true.
 *
 * @example runAttack(model, bim, { x, labels, eps: 0.1, params: { steps: 20 } })
 */
export const bim = defineAttack({
  name: 'bim',
  title: 'Basic iterative method (Kurakin et al. 2017), Linf / L2',
  norms: ['linf', 'l2'],
  budget: 'fixed',
  targeted: true,
  schema: iterativeFields({ steps: 10, relStepSize: 0.2, randomStart: false }),
  run: (ctx, p) => iterativeAttack(ctx, iterativeSettings(ctx, p)),
});
