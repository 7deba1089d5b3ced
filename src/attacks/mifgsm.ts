import { field } from '../util/schema.js';
import { defineAttack } from './types.js';
import { iterativeAttack } from './iterative.js';
import { iterativeFields, iterativeSettings } from './iterative-params.js';

/**
 * Momentum Iterative FGSM (Dong, Liao, Pang, Su, Zhu, Hu & Li 2018, "Boosting Adversarial Attacks with
 * Momentum"): g_{t+1} = decay * g_t + grad / ||grad||_1 and x_{t+1} = clip(x_t + stepSize * sign(g_{t+1})); the
 * momentum makes the examples transfer better to other models.
 *
 * Parameters (the paper's): steps 10, relStepSize 0.1 (step eps / steps), decay 1.0, randomStart false,
 * restarts 1, loss 'ce', earlyStop true.
 *
 * @example runAttack(surrogate, mifgsm, { x, labels, eps: 16 / 255 })
 */
export const mifgsm = defineAttack({
  name: 'mifgsm',
  title: 'Momentum iterative FGSM (Dong et al. 2018), Linf / L2',
  norms: ['linf', 'l2'],
  budget: 'fixed',
  targeted: true,
  schema: {
    ...iterativeFields({ steps: 10, relStepSize: 0.1, randomStart: false }),
    decay: field.number({ default: 1, min: 0, exclusiveMin: true, description: 'Momentum decay factor mu.' }),
  },
  run: (ctx, p) => iterativeAttack(ctx, iterativeSettings(ctx, p, p.decay)),
});
