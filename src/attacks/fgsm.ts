import { field } from '../util/schema.js';
import { defineAttack } from './types.js';
import { iterativeAttack } from './iterative.js';
import { LOSS_NAMES } from './losses.js';

/**
 * Fast Gradient Sign Method (Goodfellow, Shlens & Szegedy 2015, "Explaining and Harnessing Adversarial
 * Examples"): one step x + eps * sign(grad_x loss) for Linf; with the L2 norm it is the Fast Gradient Method,
 * x + eps * grad / ||grad||_2. Clipped to the bounds.
 *
 * Parameters: loss 'ce' (default), 'cw' or 'dlr'. No random start, no iterations.
 *
 * @example runAttack(model, fgsm, { x, labels, eps: [0.05, 0.1, 0.2] })
 */
export const fgsm = defineAttack({
  name: 'fgsm',
  title: 'Fast gradient sign method (Goodfellow et al. 2015); FGM for L2',
  norms: ['linf', 'l2'],
  budget: 'fixed',
  targeted: true,
  schema: {
    loss: field.choice(LOSS_NAMES, {
      default: 'ce',
      description: 'Loss on logits: cross-entropy, C&W margin or DLR.',
    }),
  },
  run: (ctx, p) =>
    iterativeAttack(ctx, {
      steps: 1,
      stepSize: ctx.eps,
      randomStart: false,
      restarts: 1,
      loss: p.loss,
      momentum: 0,
      earlyStop: false,
      l1Sparsity: 1,
    }),
});
