import { invalidArgument } from '../errors.js';

/**
 * Seeded pseudo-random numbers. Every random choice in advkit (shuffles, random starts, augmentation) draws
 * from an Rng made from a seed, so that the same seed gives the same result.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's Small Fast Counting generator), seeded through splitmix32.
 */
/** The largest seed: beyond it a JavaScript number cannot hold every integer, so two seeds would collide. */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

/** Returns `seed` when it is an integer from 0 to MAX_SEED; INVALID_ARGUMENT otherwise. */
export function checkSeed(seed: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw invalidArgument(`seed must be an integer from 0 to ${MAX_SEED}, got ${seed}.`);
  }
  return seed;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = checkSeed(seed) >>> 0;
    // Seeds of 2^32 and above differ from their low 32 bits only here; seeds below keep their old streams.
    const high = Math.floor(seed / 4294967296);
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if (high !== 0) this.c = (this.c ^ Math.imul(high, 0x9e3779b1)) >>> 0;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal sample (Box-Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A seed for a child generator, so that sub-tasks get independent but reproducible streams. */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: T[] | Int32Array | Uint32Array): void {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    this.shuffle(p);
    return p;
  }

  /** Snapshot of the generator state (for checkpoints). */
  state(): [number, number, number, number] {
    return [this.a, this.b, this.c, this.d];
  }

  static fromState(state: readonly [number, number, number, number]): Rng {
    const r = new Rng(0);
    [r.a, r.b, r.c, r.d] = state;
    return r;
  }
}
