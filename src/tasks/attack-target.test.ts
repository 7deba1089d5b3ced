import { describe, expect, it } from 'vitest';
import { closestNames, editDistance, resolveTarget } from './attack-target.js';

const names = ['tench', 'goldfish', 'great_white_shark', 'crane', 'crane', 'tiger_shark'];

describe('resolveTarget', () => {
  it('is untargeted without --target and passes least-likely and random through', () => {
    expect(resolveTarget(undefined, names)).toEqual({
      goal: 'untargeted',
      description: 'untargeted',
      index: null,
    });
    expect(resolveTarget('least-likely', names).goal).toBe('least-likely');
    expect(resolveTarget('random', names).goal).toBe('random');
  });

  it('finds a class by name regardless of case, spaces and underscores, or by index', () => {
    expect(resolveTarget('Goldfish', names)).toEqual({
      goal: { target: 1 },
      description: 'target: goldfish (class 1)',
      index: 1,
    });
    expect(resolveTarget('great white shark', names).index).toBe(2);
    expect(resolveTarget('5', names).index).toBe(5);
    // A class named '3' (MNIST) is found by name first, which is its index anyway.
    expect(resolveTarget('3', ['0', '1', '2', '3']).index).toBe(3);
  });

  it('asks for the index when a name is ambiguous, and rejects indices out of range', () => {
    expect(() => resolveTarget('crane', names)).toThrow(
      "--target 'crane' names 2 classes of this model (indices 3, 4)",
    );
    expect(() => resolveTarget('6', names)).toThrow(
      '--target 6 is not a class of this model: indices go from 0 to 5.',
    );
  });

  it('suggests close names for a miss', () => {
    expect(() => resolveTarget('goldfsh', names)).toThrow(
      "--target 'goldfsh' is not a class of this model. Did you mean: goldfish? Give a class name, an index 0-5, least-likely or random.",
    );
    expect(closestNames('shark', names)).toEqual(['tiger_shark', 'great_white_shark']);
    expect(closestNames('zzzzzzzz', names)).toEqual([]);
  });

  it('computes edit distances', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });
});

describe('resolveTarget with signed or fractional numbers', () => {
  const digits = ['0', '1', '2', '3'];
  it('refuses -1, -3, +2 and 1.5 instead of reading them as class names', () => {
    for (const bad of ['-1', '-3', '+2', '1.5']) {
      expect(() => resolveTarget(bad, digits)).toThrow(
        /is not a class of this model: indices are whole numbers from 0 to 3/,
      );
    }
    expect(resolveTarget('3', digits).index).toBe(3);
  });
});
