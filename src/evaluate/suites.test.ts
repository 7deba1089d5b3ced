import { describe, expect, it } from 'vitest';
import { resolveSuite } from './suites.js';

describe('resolveSuite', () => {
  it("gives AutoAttack's standard suite with its settings, without EOT", () => {
    const suite = resolveSuite('standard', 'linf');
    expect(suite.name).toBe('standard');
    expect(suite.entries.map((e) => e.name)).toEqual(['apgd-ce', 'apgd-t', 'fab-t', 'square']);
    expect(suite.entries.map((e) => e.eot)).toEqual([1, 1, 1, 1]);
    expect(suite.entries[1].params).toEqual({ steps: 100, targetClasses: 9 });
  });

  it("gives version 'rand' for randomized models: APGD-CE and APGD-DLR with 20 EOT passes", () => {
    const suite = resolveSuite('rand', 'linf');
    expect(suite.entries.map((e) => [e.name, e.eot])).toEqual([
      ['apgd-ce', 20],
      ['apgd-dlr', 20],
    ]);
    expect(resolveSuite('rand', 'l2', 5).entries.map((e) => e.eot)).toEqual([5, 5]);
  });

  it('applies eot to the white-box entries only', () => {
    const suite = resolveSuite('pgd,square', 'linf', 10);
    expect(suite.name).toBe('pgd,square');
    expect(suite.entries.map((e) => [e.name, e.eot])).toEqual([
      ['pgd', 10],
      ['square', 1],
    ]);
  });

  it("uses AutoAttack's L1 settings and leaves out attacks without an L1 version", () => {
    const suite = resolveSuite('standard', 'l1');
    expect(suite.entries.map((e) => e.name)).toEqual(['apgd-ce', 'apgd-t', 'fab-t']);
    expect(suite.entries[0].params).toMatchObject({ restarts: 5 });
    expect(suite.entries[1].params).toMatchObject({ targetClasses: 5 });
  });

  it('rejects unknown, empty, repeated or unsupported entries and a bad eot, saying what is expected', () => {
    const cases: [() => unknown, RegExp][] = [
      [
        () => resolveSuite('strongest', 'linf'),
        /Unknown suite or attack 'strongest'.*standard, fast, pgd, rand/,
      ],
      [() => resolveSuite(' , ', 'linf'), /An empty suite was given/],
      [() => resolveSuite('pgd,pgd', 'linf'), /lists 'pgd' twice/],
      [() => resolveSuite(['square'], 'l1'), /'square' has no l1 version \(it supports linf, l2\)/],
      [
        () => resolveSuite('fast', 'linf', 0.5),
        /eot \(passes averaged per gradient\) must be an integer >= 1/,
      ],
    ];
    for (const [call, message] of cases) expect(call).toThrow(message);
  });
});
