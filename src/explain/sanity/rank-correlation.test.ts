import { describe, expect, it } from 'vitest';
import { averageRanks, spearman, spearmanAbs } from './rank-correlation.js';

describe('averageRanks', () => {
  it('gives tied values the mean of the ranks they span', () => {
    expect(Array.from(averageRanks([10, 20, 20, 30]))).toEqual([1, 2.5, 2.5, 4]);
    expect(Array.from(averageRanks([3, 1, 3, 3, 2]))).toEqual([4, 1, 4, 4, 2]);
    expect(Array.from(averageRanks([5, 5]))).toEqual([1.5, 1.5]);
  });

  it('rejects NaN', () => {
    expect(() => averageRanks([1, NaN])).toThrow(/Cannot rank NaN \(value 1 of 2\)/);
  });
});

describe('spearman', () => {
  it('is 1 for any increasing relation and -1 for a decreasing one', () => {
    expect(spearman([1, 2, 3, 4], [1, 4, 9, 100])).toBe(1);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBe(-1);
  });

  it('matches hand-computed values with ties', () => {
    // Ranks a = [1, 2.5, 2.5, 4], b = [1, 3, 2, 4]; Pearson of the ranks = 4.5 / sqrt(4.5 * 5).
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(4.5 / Math.sqrt(4.5 * 5), 12);
    // Ranks a = [1.5, 1.5, 3, 4, 5], b = [2, 1, 4, 3, 5]: cov 8.5, var 9.5 and 10.
    expect(spearman([0, 0, 1, 2, 3], [5, 1, 7, 6, 9])).toBeCloseTo(8.5 / Math.sqrt(9.5 * 10), 12);
    // Without ties it is 1 - 6 sum d^2 / (n (n^2 - 1)): d = [0, 2, -1, -1], 1 - 36 / 60.
    expect(spearman([1, 2, 3, 4], [1, 4, 2, 3])).toBeCloseTo(1 - 36 / 60, 12);
  });

  it('gives 0 when one series is constant and 1 when both are', () => {
    expect(spearman([1, 1, 1], [1, 2, 3])).toBe(0);
    expect(spearman([1, 2, 3], [0, 0, 0])).toBe(0);
    expect(spearman([2, 2], [0, 0])).toBe(1);
  });

  it('spearmanAbs ranks magnitudes: a sign flip keeps it at 1', () => {
    expect(spearmanAbs([-3, 1, 2], [3, -1, 2])).toBe(1);
    expect(spearman([-3, 1, 2], [3, -1, 2])).toBe(-0.5);
  });

  it('rejects series of different lengths or too short', () => {
    expect(() => spearman([1, 2], [1, 2, 3])).toThrow(/different lengths \(2 and 3\)/);
    expect(() => spearman([1], [1])).toThrow(/at least 2 values per series, got 1/);
  });
});
