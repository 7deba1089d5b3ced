import { describe, expect, it } from 'vitest';
import { budgetText, defaultBudgets, parseBudgets } from './budgets.js';

describe('parseBudgets: the one eps parser', () => {
  it('sorts, drops repeats, and keeps the text each budget was typed in', () => {
    expect(parseBudgets('0.3, 8/255,0.1,0.3')).toEqual([
      { value: 8 / 255, text: '8/255' },
      { value: 0.1, text: '0.1' },
      { value: 0.3, text: '0.3' },
    ]);
    expect(parseBudgets([0.3, '1/10'])).toEqual([
      { value: 0.1, text: '1/10' },
      { value: 0.3, text: '0.3' },
    ]);
    expect(budgetText(0.1, parseBudgets('1/10'))).toBe('1/10');
  });

  it('refuses what is not a budget, naming what is expected', () => {
    expect(() => parseBudgets('abc')).toThrow(/--eps must be a number, a fraction such as 8\/255/);
    expect(() => parseBudgets('0.1,-1')).toThrow(/--eps must be >= 0, got '-1'/);
    expect(() => parseBudgets('0', { allowZero: false })).toThrow(/--eps must be positive/);
    expect(() => parseBudgets('0.1,,0.2')).toThrow(/at least one budget/);
    expect(() => parseBudgets('3', { bounds: [0, 1], norm: 'linf' })).toThrow(/a Linf budget must be <= 1/);
    expect(parseBudgets('3', { bounds: [0, 1], norm: 'l2' })).toEqual([{ value: 3, text: '3' }]);
  });
});

describe('defaultBudgets', () => {
  it("gives the dataset's budgets in the model's units", () => {
    expect(defaultBudgets('mnist', 'linf').map((b) => b.text)).toEqual(['0.1', '0.2', '0.3']);
    expect(defaultBudgets('cifar10', 'linf', [0, 255])).toEqual([
      { value: 2, text: '2' },
      { value: 4, text: '4' },
      { value: 8, text: '8' },
    ]);
    expect(defaultBudgets('mnist', 'linf', [-1, 1]).map((b) => b.value)).toEqual([0.2, 0.4, 0.6]);
  });

  it('asks for --eps where there is no default', () => {
    expect(() => defaultBudgets('fashion-mnist', 'l2')).toThrow(/Give --eps: there are no default budgets/);
  });
});
