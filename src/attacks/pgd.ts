import { defineAttack } from './types.js';
import { iterativeAttack } from './iterative.js';
import { iterativeFields, iterativeSettings } from './iterative-params.js';

/**
 * Projected Gradient Descent (Madry, Makelov, Schmidt, Tsipras & Vladu 2018, "Towards Deep Learning Models
 * Resistant to Adversarial Attacks"): from a uniform random point of the eps-ball, `steps` steps of size
 * relStepSize * eps along sign(grad) (Linf), grad / ||grad||_2 (L2) or the sparse, box-aware L1 step of Croce &
 * Hein 2021, each followed by projection onto the ball and the bounds.
 *
 * Parameters (defaults as Madry et al.'s MNIST attack and Foolbox's LinfPGD): steps 40, relStepSize 0.01/0.3
 * (0.01 at eps 0.3), randomStart true, restarts 1, loss 'ce', earlyStop true, l1Sparsity 0.01.
 *
 * @example runAttack(model, pgd, { x, labels, eps: 8 / 255, params: { steps: 20 } })
 */
export const pgd = defineAttack({
  name: 'pgd',
  title: 'Projected gradient descent (Madry et al. 2018), Linf / L2 / L1',
  norms: ['linf', 'l2', 'l1'],
  budget: 'fixed',
  targeted: true,
  schema: iterativeFields({ steps: 40, relStepSize: 0.01 / 0.3, randomStart: true }),
  run: (ctx, p) => iterativeAttack(ctx, iterativeSettings(ctx, p)),
});
