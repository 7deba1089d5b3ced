import { describe, expect, it } from 'vitest';
import { numberInRange, oneOf, parseNumber, positiveInt } from './parse-options.js';

describe('cli option parsers', () => {
  it('reads plain numbers and fractions', () => {
    expect(parseNumber('0.3')).toBeCloseTo(0.3);
    expect(parseNumber('8/255')).toBeCloseTo(8 / 255);
    expect(parseNumber('1e-3')).toBeCloseTo(0.001);
    expect(() => parseNumber('abc')).toThrow(/expected a number/);
    expect(() => parseNumber('1/0')).toThrow(/expected a number/);
  });

  it('rejects out-of-range values with what is expected', () => {
    expect(numberInRange('--lr', 0, 10, { exclusiveMin: true })('0.1')).toBeCloseTo(0.1);
    expect(() => numberInRange('--lr', 0, 10, { exclusiveMin: true })('0')).toThrow(/--lr must be > 0/);
    expect(() => positiveInt('--epochs')('1.5')).toThrow(/--epochs must be a positive integer/);
    expect(() => oneOf('--optimizer', ['sgd', 'adam'])('rmsprop')).toThrow(/one of sgd, adam/);
  });
});
