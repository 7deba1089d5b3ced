import { describe, expect, it } from 'vitest';
import { QUADRATURE_RULES, quadrature } from './quadrature.js';

const integrate = (rule: (typeof QUADRATURE_RULES)[number], n: number, f: (a: number) => number): number => {
  const { alphas, weights } = quadrature(rule, n);
  return alphas.reduce((s, a, i) => s + weights[i] * f(a), 0);
};

describe('quadrature', () => {
  it('weights sum to 1 and points lie in [0, 1] for every rule', () => {
    for (const rule of QUADRATURE_RULES) {
      for (const n of [1, 2, 7, 50]) {
        const { alphas, weights } = quadrature(rule, n);
        expect(alphas.length).toBe(n);
        expect(weights.reduce((s, w) => s + w, 0)).toBeCloseTo(1, 12);
        for (const a of alphas) expect(a >= 0 && a <= 1).toBe(true);
      }
    }
  });

  it('Gauss-Legendre with n points integrates polynomials of degree 2n - 1 exactly', () => {
    for (const n of [1, 3, 8]) {
      const degree = 2 * n - 1;
      expect(integrate('gauss-legendre', n, (a) => a ** degree)).toBeCloseTo(1 / (degree + 1), 12);
    }
    expect(Math.abs(integrate('gauss-legendre', 3, (a) => a ** 6) - 1 / 7)).toBeGreaterThan(1e-6);
  });

  it('Riemann rules converge at their known orders', () => {
    const f = (a: number): number => Math.exp(a);
    const exact = Math.E - 1;
    const err = (rule: (typeof QUADRATURE_RULES)[number], n: number): number =>
      Math.abs(integrate(rule, n, f) - exact);
    expect(err('riemann-left', 100) / err('riemann-left', 200)).toBeCloseTo(2, 1);
    expect(err('riemann-middle', 100) / err('riemann-middle', 200)).toBeCloseTo(4, 1);
    expect(err('riemann-trapezoid', 100) / err('riemann-trapezoid', 200)).toBeCloseTo(4, 1);
  });
});
