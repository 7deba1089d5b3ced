import { invalidArgument } from '../../errors.js';

/**
 * Ranks 1..n of `values`, tied values sharing the mean of the ranks they span (the "fractional" ranking that
 * Spearman's coefficient with ties needs). NaN is an error: it has no place in an order.
 */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(values[i])) throw invalidArgument(`Cannot rank NaN (value ${i} of ${n}).`);
    order[i] = i;
  }
  order.sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && values[order[end]] === values[order[start]]) end++;
    // Positions start..end-1 (0-based) hold ranks start+1..end; their mean is (start + 1 + end) / 2.
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

/** Pearson's correlation of two equally long series; a constant series is handled by the caller. */
function pearson(a: Float64Array, b: Float64Array): { r: number; constantA: boolean; constantB: boolean } {
  const n = a.length;
  let meanA = 0;
  let meanB = 0;
  for (let i = 0; i < n; i++) {
    meanA += a[i];
    meanB += b[i];
  }
  meanA /= n;
  meanB /= n;
  let cov = 0;
  let varA = 0;
  let varB = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - meanA;
    const db = b[i] - meanB;
    cov += da * db;
    varA += da * da;
    varB += db * db;
  }
  return { r: cov / Math.sqrt(varA * varB), constantA: varA === 0, constantB: varB === 0 };
}

/**
 * Spearman's rank correlation of two equally long series, with ties: Pearson's correlation of their average
 * ranks, in [-1, 1]. A constant series has no order: its correlation with a series that has one is 0 (nothing
 * of the other's order is kept), and with another constant series 1 (both rank every value equal). This is
 * the similarity Adebayo et al. (2018, "Sanity Checks for Saliency Maps") report between a method's map on the
 * trained model and on the randomized one.
 *
 * @example spearman([1, 2, 2, 3], [10, 20, 20, 25]) // 1
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw invalidArgument(`spearman: the series have different lengths (${a.length} and ${b.length}).`);
  }
  if (a.length < 2) throw invalidArgument(`spearman needs at least 2 values per series, got ${a.length}.`);
  const { r, constantA, constantB } = pearson(averageRanks(a), averageRanks(b));
  if (constantA || constantB) return constantA && constantB ? 1 : 0;
  // Rounding can push a perfect correlation a hair outside [-1, 1].
  return Math.max(-1, Math.min(1, r));
}

/** Spearman's correlation of |a| and |b|: whether the two maps agree on which values matter, whatever their sign. */
export function spearmanAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return spearman(Float64Array.from(a, Math.abs), Float64Array.from(b, Math.abs));
}
