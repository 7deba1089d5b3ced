import { describe, expect, it } from 'vitest';
import type { AttackStepRecord } from '../report-types.js';
import { checkBlackBoxBeatsWhiteBox } from './black-box-beats-white-box.js';

const STANDARD = [
  { name: 'apgd-ce', blackBox: false },
  { name: 'apgd-t', blackBox: false },
  { name: 'fab-t', blackBox: false },
  { name: 'square', blackBox: true },
];

/** Per-attack records of 100 points from (name, accuracy after, newly broken). */
function steps(...records: [string, number, number][]): AttackStepRecord[] {
  return records.map(([name, after, broken]) => ({
    name,
    accuracy_after: after,
    newly_broken: broken,
    attacked: 100,
    gradients_per_point: 0,
    queries_per_point: 0,
    seconds: 0,
  }));
}

describe('checkBlackBoxBeatsWhiteBox', () => {
  it('warns when Square breaks points every white-box attack before it left robust', () => {
    const flag = checkBlackBoxBeatsWhiteBox(
      [
        {
          eps: 0.1,
          by_attack: steps(
            ['apgd-ce', 0.95, 2],
            ['apgd-t', 0.95, 0],
            ['fab-t', 0.95, 0],
            ['square', 0.95, 0],
          ),
        },
        {
          eps: 0.3,
          by_attack: steps(['apgd-ce', 0.9, 7], ['apgd-t', 0.88, 2], ['fab-t', 0.88, 0], ['square', 0.84, 4]),
        },
      ],
      STANDARD,
    );
    expect(flag).toMatchObject({ id: 'black-box-beats-white-box', severity: 'warning' });
    expect(flag?.detail).toBe(
      'At eps 0.3, square broke 4 points that apgd-ce, apgd-t, fab-t left robust (accuracy 88.0% -> 84.0%).',
    );
    expect(flag?.advice).toMatch(/gradient masking/);
  });

  it('only informs when a single point fell to the black-box attack', () => {
    const flag = checkBlackBoxBeatsWhiteBox(
      [{ eps: 0.3, by_attack: steps(['apgd-ce', 0.9, 7], ['square', 0.89, 1]) }],
      STANDARD,
    );
    expect(flag).toMatchObject({ severity: 'info' });
    expect(flag?.detail).toContain('square broke 1 point that apgd-ce left robust');
  });

  it('stays silent when the white-box attacks left nothing for it, or ran after it', () => {
    const whiteBoxFirst = [
      { eps: 0.3, by_attack: steps(['apgd-ce', 0.9, 7], ['apgd-t', 0.9, 0], ['square', 0.9, 0]) },
    ];
    expect(checkBlackBoxBeatsWhiteBox(whiteBoxFirst, STANDARD)).toBeNull();
    const blackBoxFirst = [{ eps: 0.3, by_attack: steps(['square', 0.95, 3], ['apgd-ce', 0.9, 5]) }];
    expect(checkBlackBoxBeatsWhiteBox(blackBoxFirst, STANDARD)).toBeNull();
  });

  it('rejects results that name an attack the suite does not have', () => {
    const results = [{ eps: 0.3, by_attack: steps(['pgd', 0.9, 7]) }];
    expect(() => checkBlackBoxBeatsWhiteBox(results, STANDARD)).toThrow(
      /attack 'pgd' that is not in the suite/,
    );
  });
});
