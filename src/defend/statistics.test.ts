import { describe, expect, it } from 'vitest';
import {
  binomialTestPValue,
  clopperPearsonLower,
  inverseRegularizedIncompleteBeta,
  logGamma,
  normalCdf,
  normalInverseCdf,
  regularizedIncompleteBeta,
} from './statistics.js';

// Reference values from SciPy 1.17 (scipy.special.gammaln, betainc, betaincinv, erfc; scipy.stats.norm.ppf,
// beta.ppf, binomtest), printed with repr.

/** |actual - expected| <= rel * |expected| (+ abs). */
function expectNear(actual: number, expected: number, rel: number, abs = 0): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected) + abs);
}

describe('logGamma', () => {
  it('matches SciPy from 0.5 to 1e5', () => {
    const cases: [number, number][] = [
      [0.5, 0.5723649429247],
      [1, 0],
      [1.5, -0.12078223763524526],
      [3.7, 1.428072326665388],
      [10, 12.801827480081469],
      [100.5, 361.43554046777757],
      [1e5, 1051287.7089736569],
    ];
    for (const [x, expected] of cases) expectNear(logGamma(x), expected, 1e-14, 1e-14);
  });

  it('carries small arguments up by Gamma(x) = Gamma(x + 1) / x', () => {
    expectNear(logGamma(0.1), logGamma(1.1) - Math.log(0.1), 1e-14);
  });
});

describe('regularizedIncompleteBeta', () => {
  it('matches SciPy, on both sides of the switch to the symmetric fraction', () => {
    const cases: [number, number, number, number][] = [
      [0.3, 2, 3, 0.34829999999999994],
      [0.5, 0.5, 0.5, 0.5000000000000001],
      [0.9, 10, 2, 0.6973568802000002],
      [0.2, 1, 1, 0.2],
      [0.01, 0.5, 20, 0.4713699354850154],
      [0.7, 300, 150, 0.9352092852944252],
      [0.99, 99000, 1001, 0.5084094733514214],
      [0.985, 9850, 151, 0.5216977994082022],
      [0.5, 1e4, 1e4 + 100, 0.759707411543753],
      [1e-3, 2, 500, 0.09043158270822253],
      [0.9999, 5, 1, 0.9995000999900006],
    ];
    // Large shapes lose a few digits to ln B(a, b), a difference of numbers near 1e6.
    for (const [x, a, b, expected] of cases) expectNear(regularizedIncompleteBeta(x, a, b), expected, 1e-9);
  });

  it('is x^a for b = 1 and 0 or 1 at the ends', () => {
    expectNear(regularizedIncompleteBeta(0.93, 100, 1), 0.93 ** 100, 1e-12);
    expect(regularizedIncompleteBeta(0, 2, 3)).toBe(0);
    expect(regularizedIncompleteBeta(1, 2, 3)).toBe(1);
  });

  it('rejects shapes and points outside the domain', () => {
    expect(() => regularizedIncompleteBeta(0.5, 0, 1)).toThrow(/a > 0 and b > 0, got a = 0/);
    expect(() => regularizedIncompleteBeta(1.5, 1, 1)).toThrow(/x in \[0, 1\], got 1.5/);
  });
});

describe('inverseRegularizedIncompleteBeta', () => {
  it('inverts the CDF', () => {
    for (const [a, b] of [
      [2, 3],
      [0.5, 0.5],
      [50, 1],
      [9990, 11],
      [1, 400],
    ]) {
      for (const p of [1e-6, 0.001, 0.3, 0.5, 0.9]) {
        const x = inverseRegularizedIncompleteBeta(p, a, b);
        expectNear(regularizedIncompleteBeta(x, a, b), p, 1e-9);
      }
    }
  });

  it('is 0 or 1 at the ends', () => {
    expect(inverseRegularizedIncompleteBeta(0, 3, 4)).toBe(0);
    expect(inverseRegularizedIncompleteBeta(1, 3, 4)).toBe(1);
  });
});

describe('clopperPearsonLower', () => {
  it('matches SciPy beta.ppf(alpha, k, n - k + 1)', () => {
    const cases: [number, number, number, number][] = [
      [100, 100, 0.001, 0.933254300796991],
      [990, 1000, 0.001, 0.9760361871553114],
      [50, 100, 0.001, 0.34479800642531777],
      [1, 10, 0.05, 0.005116196891823701],
      [99900, 100000, 0.001, 0.998650992446753],
      [60000, 100000, 0.001, 0.5952010472945846],
      [7, 20, 0.01, 0.12917878429650662],
      [5, 5, 0.5, 0.8705505632961241],
    ];
    for (const [k, n, alpha, expected] of cases)
      expectNear(clopperPearsonLower(k, n, alpha), expected, 1e-10);
  });

  it('is alpha^(1/n) after n successes in n trials, and 0 after none', () => {
    for (const [n, alpha] of [
      [1, 0.05],
      [10, 0.001],
      [100, 0.001],
      [100000, 0.001],
    ]) {
      expectNear(clopperPearsonLower(n, n, alpha), alpha ** (1 / n), 1e-13);
    }
    expect(clopperPearsonLower(0, 10, 0.001)).toBe(0);
  });

  it('says what counts and alpha it accepts', () => {
    expect(() => clopperPearsonLower(11, 10, 0.001)).toThrow(/integer from 0 to the 10 trials, got 11/);
    expect(() => clopperPearsonLower(1, 0, 0.001)).toThrow(/trials as an integer >= 1, got 0/);
    expect(() => clopperPearsonLower(1, 10, 1)).toThrow(/alpha strictly between 0 and 1, got 1/);
    expect(() => clopperPearsonLower(1.5, 10, 0.1)).toThrow(/got 1.5/);
  });
});

describe('binomialTestPValue', () => {
  it('matches SciPy binomtest (two-sided)', () => {
    const cases: [number, number, number, number][] = [
      [60, 100, 0.5, 0.05688793364098089],
      [50, 100, 0.5, 1],
      [3, 10, 0.5, 0.34375],
      [0, 10, 0.5, 0.001953125],
      [10, 10, 0.5, 0.001953125],
      [7, 20, 0.3, 0.6294979666766769],
      [2, 20, 0.3, 0.05262794872972706],
      [520, 1000, 0.5, 0.2174482932041415],
      [51, 101, 0.5, 1],
      [12, 40, 0.25, 0.4668097611024689],
      [1, 1, 0.5, 1],
      [30, 40, 0.9, 0.0050630536578343925],
    ];
    for (const [k, n, p, expected] of cases) expectNear(binomialTestPValue(k, n, p), expected, 1e-11);
  });

  it('tests against one half by default, symmetrically', () => {
    expect(binomialTestPValue(40, 100)).toBeCloseTo(binomialTestPValue(60, 100), 14);
  });

  it('rejects a null probability of 0 or 1', () => {
    expect(() => binomialTestPValue(1, 2, 0)).toThrow(/strictly between 0 and 1, got 0/);
  });
});

describe('normal distribution', () => {
  it('Phi^-1 matches SciPy norm.ppf in the centre and both tails', () => {
    const cases: [number, number][] = [
      [1e-300, -37.0470962993612],
      [1e-20, -9.262340089798409],
      [1e-10, -6.361340902404056],
      [1e-5, -4.264890793922825],
      [0.001, -3.090232306167813],
      [0.02425, -1.972961051311885],
      [0.1, -1.2815515655446004],
      [0.3, -0.5244005127080409],
      [0.5, 0],
      [0.7, 0.5244005127080407],
      [0.975, 1.959963984540054],
      [0.999, 3.090232306167813],
      [1 - 1e-10, 6.361340889697422],
      [0.933254300796991, 1.5004750241206364],
    ];
    for (const [p, expected] of cases) expectNear(normalInverseCdf(p), expected, 1e-14, 1e-15);
    expect(normalInverseCdf(0)).toBe(-Infinity);
    expect(normalInverseCdf(1)).toBe(Infinity);
    expect(() => normalInverseCdf(1.2)).toThrow(/p in \[0, 1\], got 1.2/);
  });

  it('Phi matches SciPy norm.cdf far into the tails', () => {
    const cases: [number, number][] = [
      [-37.5, 4.605353009581954e-308],
      [-14.142135623730951, 1.0442437918812278e-45],
      [-4.25, 1.0688525774934402e-5],
      [-1, 0.15865525393145707],
      [-0.1, 0.460172162722971],
      [0.3, 0.6179114221889526],
      [2.5, 0.9937903346742238],
      [8.0, 0.9999999999999993],
    ];
    // Deep in the tail Phi's condition number is about x^2 (1400 at -37.5), so a few ulps of x cost digits.
    for (const [x, expected] of cases) expectNear(normalCdf(x), expected, 1e-12);
    expect(normalCdf(0)).toBe(0.5);
    expect(normalCdf(Infinity)).toBe(1);
  });
});
