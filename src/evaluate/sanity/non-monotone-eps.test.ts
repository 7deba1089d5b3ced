import { describe, expect, it } from 'vitest';
import { checkNonMonotoneEps } from './non-monotone-eps.js';

const curve = (points: [number, number][]) => points.map(([eps, acc]) => ({ eps, autoattack_acc: acc }));

describe('checkNonMonotoneEps', () => {
  it('fires when accuracy rises with eps by more than one example, naming the worst rise', () => {
    const flag = checkNonMonotoneEps(
      curve([
        [0.1, 0.8],
        [0.2, 0.5],
        [0.3, 0.53],
        [0.4, 0.6],
      ]),
      100,
    );
    expect(flag).toMatchObject({ id: 'non-monotone-eps', severity: 'warning' });
    // Against the lowest accuracy at any smaller eps (0.2), not just the neighbour.
    expect(flag?.detail).toContain('rises from 50.0% at eps 0.2 to 60.0% at eps 0.4 (10 of 100 points)');
  });

  it('reads the results in eps order whatever order they come in', () => {
    const flag = checkNonMonotoneEps(
      curve([
        [0.3, 0.7],
        [0.1, 0.9],
        [0.2, 0.4],
      ]),
      10,
    );
    expect(flag?.detail).toContain('rises from 40.0% at eps 0.2 to 70.0% at eps 0.3 (3 of 10 points)');
  });

  it('tolerates a rise of one example and stays silent on monotone curves', () => {
    expect(
      checkNonMonotoneEps(
        curve([
          [0.1, 0.5],
          [0.2, 0.51],
        ]),
        100,
      ),
    ).toBeNull();
    expect(
      checkNonMonotoneEps(
        curve([
          [0.1, 0.9],
          [0.2, 0.9],
          [0.3, 0.2],
        ]),
        100,
      ),
    ).toBeNull();
    expect(checkNonMonotoneEps(curve([[0.3, 0.9]]), 100)).toBeNull();
    expect(checkNonMonotoneEps([], 100)).toBeNull();
  });
});
