import { AdvkitError, invalidArgument } from '../errors.js';

/**
 * The few distributions randomized smoothing needs (Cohen, Rosenfeld & Kolter 2019, "Certified Adversarial
 * Robustness via Randomized Smoothing", Section 3.2): the exact two-sided binomial test of PREDICT, the
 * one-sided Clopper-Pearson lower confidence bound of CERTIFY, and the standard normal quantile that turns
 * that bound into a radius. Written here, in plain doubles, so that the core stays browser-safe and free of a
 * statistics dependency; the tests compare every function with SciPy.
 */

const EPS = Number.EPSILON;
/** Stands in for 0 in the modified Lentz algorithm, so that no denominator is exactly zero. */
const TINY = 1e-300;
const MAX_CONTINUED_FRACTION_TERMS = 1_000_000;
const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/** Lanczos' approximation with g = 7 and 9 terms (relative error near 1e-15 for x >= 0.5). */
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Gamma(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw invalidArgument(`logGamma needs a finite x > 0, got ${x}.`);
  // Gamma(x) = Gamma(x + 1) / x carries small arguments into the range where the approximation is exact.
  if (x < 0.5) return logGamma(x + 1) - Math.log(x);
  const z = x - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return HALF_LOG_TWO_PI + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/**
 * Evaluates 1 + a_1/(1 + a_2/(1 + ...)) (when `leading` is 1) or a_1/(b_1 + a_2/(b_2 + ...)) (when it is 0)
 * by the modified Lentz algorithm, from the terms a_j, b_j for j = 1, 2, ... .
 */
function continuedFraction(leading: number, term: (j: number) => [number, number], what: string): number {
  let f = leading === 0 ? TINY : leading;
  let c = f;
  let d = 0;
  for (let j = 1; j <= MAX_CONTINUED_FRACTION_TERMS; j++) {
    const [aj, bj] = term(j);
    d = bj + aj * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = bj + aj / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) <= EPS) return f;
  }
  throw new AdvkitError('INTERNAL', `The continued fraction of ${what} did not converge.`);
}

function checkShape(name: string, a: number, b: number): void {
  if (!(a > 0) || !(b > 0) || !Number.isFinite(a) || !Number.isFinite(b)) {
    throw invalidArgument(`${name} needs finite shape parameters a > 0 and b > 0, got a = ${a}, b = ${b}.`);
  }
}

/**
 * The regularized incomplete beta function I_x(a, b) = B(x; a, b) / B(a, b), the CDF of Beta(a, b) at x, from
 * its continued fraction (DLMF 8.17.22), evaluated where it converges fast (x < (a + 1) / (a + b + 2)) and by
 * the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) elsewhere.
 */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  checkShape('regularizedIncompleteBeta', a, b);
  if (!(x >= 0 && x <= 1)) throw invalidArgument(`regularizedIncompleteBeta needs x in [0, 1], got ${x}.`);
  if (x === 0 || x === 1) return x;
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBetaByFraction(1 - x, b, a);
  return incompleteBetaByFraction(x, a, b);
}

function incompleteBetaByFraction(x: number, a: number, b: number): number {
  const logFront = a * Math.log(x) + b * Math.log1p(-x) - logBeta(a, b) - Math.log(a);
  const fraction = continuedFraction(
    1,
    (j) => {
      const m = Math.floor(j / 2);
      const aj =
        j % 2 === 1
          ? (-(a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))
          : (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
      return [aj, 1];
    },
    `the incomplete beta function at x = ${x}, a = ${a}, b = ${b}`,
  );
  return Math.exp(logFront) / fraction;
}

/**
 * The x in [0, 1] with I_x(a, b) = p: the p-quantile of Beta(a, b). Newton's method on the CDF (its derivative
 * is the density), kept inside a bracket that shrinks at every step and bisected whenever Newton leaves it or
 * stalls, so it always converges, to within a few ulps.
 */
export function inverseRegularizedIncompleteBeta(p: number, a: number, b: number): number {
  checkShape('inverseRegularizedIncompleteBeta', a, b);
  if (!(p >= 0 && p <= 1))
    throw invalidArgument(`inverseRegularizedIncompleteBeta needs p in [0, 1], got ${p}.`);
  if (p === 0 || p === 1) return p;
  const logB = logBeta(a, b);
  const logDensity = (x: number): number => (a - 1) * Math.log(x) + (b - 1) * Math.log1p(-x) - logB;
  let lo = 0;
  let hi = 1;
  let x = a / (a + b);
  let widthBefore = 1;
  for (let iteration = 0; iteration < 2000; iteration++) {
    const f = regularizedIncompleteBeta(x, a, b) - p;
    if (f === 0) return x;
    if (f < 0) lo = x;
    else hi = x;
    if (hi - lo <= 2 * EPS * hi) return 0.5 * (lo + hi);
    let next = x - f / Math.exp(logDensity(x));
    // Bisect when Newton leaves the bracket, or when three steps did not halve it.
    const stalled = iteration % 3 === 2 && hi - lo > 0.5 * widthBefore;
    if (iteration % 3 === 2) widthBefore = hi - lo;
    if (!(next > lo && next < hi) || stalled) next = 0.5 * (lo + hi);
    if (Math.abs(next - x) <= 2 * EPS * Math.abs(next)) return next;
    x = next;
  }
  throw new AdvkitError('INTERNAL', `The Beta(${a}, ${b}) quantile at p = ${p} did not converge.`);
}

/**
 * The regularized upper incomplete gamma function Q(a, x) = Gamma(a, x) / Gamma(a): the series of P = 1 - Q
 * below x = a + 1, Legendre's continued fraction above (DLMF 8.11.4, 8.9.2).
 */
function upperIncompleteGamma(a: number, x: number): number {
  if (x === 0) return 1;
  const logFront = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let k = 1; k < MAX_CONTINUED_FRACTION_TERMS && Math.abs(term) > EPS * Math.abs(sum); k++) {
      term *= x / (a + k);
      sum += term;
    }
    return 1 - Math.exp(logFront) * sum;
  }
  const fraction = continuedFraction(
    0,
    (j) => [j === 1 ? 1 : -(j - 1) * (j - 1 - a), x + 2 * j - 1 - a],
    `the incomplete gamma function at a = ${a}, x = ${x}`,
  );
  return Math.exp(logFront) * fraction;
}

/** erfc(z) = Q(1/2, z^2) for z >= 0: accurate far into the tail, where 1 - erf(z) would round to 0. */
function erfc(z: number): number {
  return z >= 0 ? upperIncompleteGamma(0.5, z * z) : 2 - upperIncompleteGamma(0.5, z * z);
}

/** Phi(x), the standard normal CDF, accurate in both tails. */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) throw invalidArgument('normalCdf needs a number, got NaN.');
  if (x === Infinity) return 1;
  if (x === -Infinity) return 0;
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Acklam's rational approximation of the normal quantile (relative error below 1.2e-9), for q in (0, 0.5]. */
const ACKLAM_A = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
  2.506628277459239,
];
const ACKLAM_B = [
  -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1,
];
const ACKLAM_C = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const ACKLAM_D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
const ACKLAM_LOW = 0.02425;

function polynomial(coefficients: readonly number[], x: number): number {
  return coefficients.reduce((acc, c) => acc * x + c, 0);
}

function acklamLowerHalf(q: number): number {
  if (q < ACKLAM_LOW) {
    const r = Math.sqrt(-2 * Math.log(q));
    return polynomial(ACKLAM_C, r) / (polynomial(ACKLAM_D, r) * r + 1);
  }
  const s = q - 0.5;
  const r = s * s;
  return (polynomial(ACKLAM_A, r) * s) / (polynomial(ACKLAM_B, r) * r + 1);
}

/**
 * Phi^-1(p), the standard normal quantile (the radius of CERTIFY is sigma * Phi^-1(pA_lower)). Acklam's
 * approximation, refined by Halley's method on the accurate CDF above to full double precision; the upper half
 * is -Phi^-1(1 - p), since 1 - p is exact there.
 */
export function normalInverseCdf(p: number): number {
  if (!(p >= 0 && p <= 1)) throw invalidArgument(`normalInverseCdf needs p in [0, 1], got ${p}.`);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  const q = Math.min(p, 1 - p);
  let x = acklamLowerHalf(q);
  for (let i = 0; i < 4; i++) {
    const e = normalCdf(x) - q;
    if (e === 0) break;
    // u = e / density(x), in logarithms so that neither factor overflows deep in the tail.
    const u = Math.sign(e) * Math.exp(Math.log(Math.abs(e)) + 0.5 * x * x + HALF_LOG_TWO_PI);
    const step = u / (1 + 0.5 * x * u);
    x -= step;
    if (Math.abs(step) <= 4 * EPS * Math.abs(x)) break;
  }
  return p < 0.5 ? x : -x;
}

function checkCounts(name: string, successes: number, trials: number): void {
  if (!Number.isSafeInteger(trials) || trials < 1) {
    throw invalidArgument(`${name} needs the number of trials as an integer >= 1, got ${trials}.`);
  }
  if (!Number.isSafeInteger(successes) || successes < 0 || successes > trials) {
    throw invalidArgument(
      `${name} needs the number of successes as an integer from 0 to the ${trials} trials, got ${successes}.`,
    );
  }
}

function checkProbability(name: string, what: string, p: number): void {
  if (!(p > 0 && p < 1)) throw invalidArgument(`${name} needs ${what} strictly between 0 and 1, got ${p}.`);
}

/**
 * The exact two-sided binomial test of H0: "the success probability is p" after `successes` in `trials` (the
 * p-value that PREDICT compares with alpha, with p = 1/2). As in SciPy's binomtest, the p-value is the
 * probability under H0 of every outcome no more likely than the one observed (with a relative slack of 1e-7
 * for rounding).
 */
export function binomialTestPValue(successes: number, trials: number, p = 0.5): number {
  checkCounts('binomialTestPValue', successes, trials);
  checkProbability('binomialTestPValue', 'the probability p under the null hypothesis', p);
  const n = trials;
  const k = successes;
  const logP = Math.log(p);
  const logQ = Math.log1p(-p);
  const logNFactorial = logGamma(n + 1);
  const logPmf = (j: number): number =>
    logNFactorial - logGamma(j + 1) - logGamma(n - j + 1) + j * logP + (n - j) * logQ;
  /** P(X <= j) and P(X >= j). */
  const cdf = (j: number): number =>
    j < 0 ? 0 : j >= n ? 1 : regularizedIncompleteBeta(1 - p, n - j, j + 1);
  const sf = (j: number): number => (j <= 0 ? 1 : j > n ? 0 : regularizedIncompleteBeta(p, j, n - j + 1));
  const mean = n * p;
  if (k === mean) return 1;
  const threshold = logPmf(k) + Math.log1p(1e-7);
  let pValue: number;
  if (k < mean) {
    // The pmf does not increase from ceil(mean) on: find where it first drops to the observed one's.
    let lo = Math.ceil(mean);
    let hi = n + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (logPmf(mid) <= threshold) hi = mid;
      else lo = mid + 1;
    }
    pValue = cdf(k) + sf(lo);
  } else {
    // The pmf does not decrease up to floor(mean): find where it last stays at or below the observed one's.
    let lo = -1;
    let hi = Math.floor(mean);
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (logPmf(mid) <= threshold) lo = mid;
      else hi = mid - 1;
    }
    pValue = cdf(lo) + sf(k);
  }
  return Math.min(1, pValue);
}

/**
 * The one-sided (1 - alpha) Clopper-Pearson lower confidence bound on a binomial proportion after `successes`
 * in `trials`: the alpha-quantile of Beta(successes, trials - successes + 1), and 0 after no success. CERTIFY's
 * pA_lower (Cohen et al. 2019, Algorithm 1, LowerConfBound). After `trials` successes it is alpha^(1/trials).
 */
export function clopperPearsonLower(successes: number, trials: number, alpha: number): number {
  checkCounts('clopperPearsonLower', successes, trials);
  checkProbability('clopperPearsonLower', 'alpha', alpha);
  if (successes === 0) return 0;
  return inverseRegularizedIncompleteBeta(alpha, successes, trials - successes + 1);
}
