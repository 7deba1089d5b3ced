import { describe, expect, it } from 'vitest';
import { attackSummary, budgetText, durationText, explainSummary, topK } from './status-text.js';

describe("the playground's words", () => {
  it('summarizes an attack in one line for the live status region', () => {
    expect(
      attackSummary({
        attack: 'fgsm',
        eps: 0.3,
        norm: 'linf',
        clean: '7',
        adversarial: '3',
        success: true,
        l2: 4.14,
        linf: 0.3,
      }),
    ).toBe('FGSM eps 0.3: 7 -> 3 (success), L2 4.1, Linf 0.30');
    expect(
      attackSummary({
        attack: 'pgd',
        eps: 8 / 255,
        norm: 'linf',
        clean: 'cat',
        adversarial: 'cat',
        success: false,
        l2: 0.71,
        linf: 8 / 255,
        model: 'cifar-cnn-robust',
      }),
    ).toBe('cifar-cnn-robust: PGD eps 0.0314: cat -> cat (failed), L2 0.71, Linf 0.031');
    expect(
      attackSummary({
        attack: 'cw',
        norm: 'l2',
        clean: '2',
        adversarial: '8',
        success: true,
        l2: 1.234,
        linf: 0.52,
      }),
    ).toBe('C&W L2: 2 -> 8 (success), L2 1.2, Linf 0.52');
    expect(
      attackSummary({
        attack: 'patch',
        how: '9px at (9, 9)',
        norm: 'linf',
        clean: '7',
        adversarial: '3',
        success: true,
        l2: 5,
        linf: 1,
      }),
    ).toBe('Patch 9px at (9, 9): 7 -> 3 (success), L2 5, Linf 1.00');
    const wrong = { attack: 'fgsm', eps: 0.1, norm: 'linf', clean: '5', adversarial: '5', l2: 0, linf: 0 };
    expect(attackSummary({ ...wrong, success: true, cleanWrong: true })).toBe(
      'FGSM eps 0.1: 5 -> 5 (success: already misclassified), L2 0, Linf 0.00',
    );
  });

  it('lists the top classes, best first', () => {
    expect(topK([0.1, 0.6, 0.05, 0.25], ['a', 'b', 'c', 'd'], 3)).toEqual([
      { index: 1, name: 'b', probability: 0.6 },
      { index: 3, name: 'd', probability: 0.25 },
      { index: 0, name: 'a', probability: 0.1 },
    ]);
  });

  it('shows Linf budgets in 1/255 steps and durations readably', () => {
    expect(budgetText(8 / 255, 'linf', [0, 1])).toBe('0.0314 (8/255)');
    expect(budgetText(0.3, 'linf', [0, 1])).toBe('0.3');
    expect(budgetText(0.5, 'l2', [0, 1])).toBe('0.5');
    expect(durationText(420.2)).toBe('420 ms');
    expect(durationText(3140)).toBe('3.1 s');
  });

  it('says what an explanation shows, with Integrated Gradients completeness gaps', () => {
    expect(explainSummary({ method: 'gradcam', clean: '7', adversarial: '3' })).toBe(
      'Grad-CAM of 7 (clean) and 3 (adversarial)',
    );
    expect(explainSummary({ method: 'integrated-gradients', clean: '7', gaps: [0.0123] })).toBe(
      'Integrated Gradients of 7, completeness gap 0.012',
    );
  });
});
