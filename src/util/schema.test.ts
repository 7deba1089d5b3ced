import { describe, expect, it } from 'vitest';
import { AdvkitError } from '../errors.js';
import { describeRange, field, parseParams } from './schema.js';

const schema = {
  steps: field.integer({ default: 40, min: 1, description: 'steps' }),
  stepSize: field.number({ min: 0, exclusiveMin: true, description: 'absolute step' }),
  randomStart: field.boolean({ default: true, description: 'random start' }),
  loss: field.choice(['ce', 'cw'] as const, { default: 'ce', description: 'loss' }),
};

function rejection(input: Record<string, unknown>): string {
  try {
    parseParams(schema, input, 'pgd');
  } catch (err) {
    expect(err).toBeInstanceOf(AdvkitError);
    expect((err as AdvkitError).code).toBe('INVALID_ARGUMENT');
    return (err as AdvkitError).message;
  }
  throw new Error('expected a rejection');
}

describe('parseParams', () => {
  it('fills defaults and keeps given values; optional fields stay undefined', () => {
    const p = parseParams(schema, { steps: 10, loss: 'cw' }, 'pgd');
    expect(p).toEqual({ steps: 10, stepSize: undefined, randomStart: true, loss: 'cw' });
    const typed: number = p.steps;
    const maybe: number | undefined = p.stepSize;
    expect([typed, maybe]).toEqual([10, undefined]);
  });

  it('names the owner, the parameter, the allowed range and the bad value', () => {
    expect(rejection({ steps: 0 })).toBe('pgd: steps must be an integer >= 1, got 0.');
    expect(rejection({ steps: 2.5 })).toBe('pgd: steps must be an integer >= 1, got 2.5.');
    expect(rejection({ stepSize: 0 })).toBe('pgd: stepSize must be a number > 0, got 0.');
    expect(rejection({ stepSize: 'big' })).toBe("pgd: stepSize must be a number > 0, got 'big'.");
    expect(rejection({ randomStart: 'yes' })).toBe("pgd: randomStart must be true or false, got 'yes'.");
    expect(rejection({ loss: 'dlr' })).toBe("pgd: loss must be one of ce, cw; got 'dlr'.");
    expect(rejection({ stepz: 1 })).toBe(
      "pgd: unknown parameter 'stepz'. Its parameters are: steps, stepSize, randomStart, loss.",
    );
  });

  it('describes ranges in words', () => {
    expect(describeRange(field.number({ min: 0, max: 1, description: '' }))).toBe('a number >= 0 and <= 1');
    expect(describeRange(field.integer({ description: '' }))).toBe('a finite integer');
  });
});
