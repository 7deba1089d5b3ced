import { describe, expect, it } from 'vitest';
import type { AdvkitError } from '../../errors.js';
import { DEFENSE_TRANSFORMS, defenseSpec, parseDefense } from './parse-defense.js';

function errorOf(spec: string): AdvkitError {
  try {
    parseDefense(spec);
  } catch (e) {
    return e as AdvkitError;
  }
  throw new Error(`parseDefense("${spec}") did not throw`);
}

describe('parseDefense', () => {
  it('builds the chain in order, with defaults for names alone, and prints it back', () => {
    const chain = parseDefense(' jpeg:75, bits:4,median:3,blur:1.5,resize-pad:0.1 ');
    expect(chain.map((t) => t.name)).toEqual(['jpeg', 'bits', 'median', 'blur', 'resize-pad']);
    expect(chain.map((t) => t.params)).toEqual([
      { quality: 75 },
      { bits: 4 },
      { size: 3 },
      { sigma: 1.5 },
      { ratio: 0.1 },
    ]);
    expect(defenseSpec(chain)).toBe('jpeg:75,bits:4,median:3,blur:1.5,resize-pad:0.1');
    expect(defenseSpec(parseDefense('jpeg,bits,tv'))).toBe('jpeg:75,bits:4,tv:0.01');
    expect(parseDefense('none')).toEqual([]);
    expect(defenseSpec([])).toBe('none');
    for (const t of DEFENSE_TRANSFORMS) expect(parseDefense(t.name)[0].name).toBe(t.name);
  });

  it('lists the known names when a name is unknown', () => {
    const err = errorOf('jpeg:75,gzip:9');
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(
      /Unknown defense transform "gzip" .* expected one of jpeg, bits, median, blur, resize-pad, tv/,
    );
  });

  it('names the allowed range of a value out of range, and rejects values that are not numbers', () => {
    expect(errorOf('jpeg:0').message).toMatch(/jpeg quality must be an integer from 1 to 100, got 0/);
    expect(errorOf('bits:9.5').message).toMatch(/from 1 to 16, got 9.5/);
    expect(errorOf('median:4').message).toMatch(/must be odd/);
    expect(errorOf('resize-pad:1.5').message).toMatch(/from 0 to 1, got 1.5/);
    expect(errorOf('jpeg:high').message).toMatch(
      /"high" is not a number; expected jpeg:<quality \(1 to 100\)>/,
    );
    expect(errorOf('jpeg:').message).toMatch(/"" is not a number/);
    expect(errorOf('jpeg:7:5').message).toMatch(/more than one value/);
    expect(errorOf(' ').message).toMatch(/empty; expected entries like "jpeg:75,bits:4"/);
    expect(errorOf('jpeg,,bits').message).toMatch(/Unknown defense transform ""/);
  });
});
