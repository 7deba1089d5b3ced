import { InvalidArgumentError } from 'commander';

/** Commander option parsers that reject bad values with a message saying what is expected. */

export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) {
      throw new InvalidArgumentError(`${name} must be a positive integer, got '${value}'.`);
    }
    return n;
  };
}

export function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) {
      throw new InvalidArgumentError(`${name} must be an integer >= 0, got '${value}'.`);
    }
    return n;
  };
}

/** A finite number, also written as a fraction such as 8/255. */
export function parseNumber(value: string): number {
  const m = /^\s*([-+]?[0-9]*\.?[0-9]+(?:e[-+]?\d+)?)\s*(?:\/\s*([0-9]*\.?[0-9]+(?:e[-+]?\d+)?))?\s*$/i.exec(
    value,
  );
  const n = m ? (m[2] !== undefined ? Number(m[1]) / Number(m[2]) : Number(m[1])) : NaN;
  if (!Number.isFinite(n))
    throw new InvalidArgumentError(`expected a number such as 0.1 or 8/255, got '${value}'.`);
  return n;
}

export function numberInRange(name: string, min: number, max: number, { exclusiveMin = false } = {}) {
  return (value: string): number => {
    let n: number;
    try {
      n = parseNumber(value);
    } catch {
      throw new InvalidArgumentError(`${name} must be a number, got '${value}'.`);
    }
    const lowOk = exclusiveMin ? n > min : n >= min;
    if (!lowOk || n > max) {
      const low = exclusiveMin ? `> ${min}` : `>= ${min}`;
      throw new InvalidArgumentError(`${name} must be ${low} and <= ${max}, got '${value}'.`);
    }
    return n;
  };
}

export function oneOf<T extends string>(name: string, allowed: readonly T[]) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`${name} must be one of ${allowed.join(', ')}; got '${value}'.`);
    }
    return value as T;
  };
}
