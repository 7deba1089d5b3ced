import * as tfl from '@tensorflow/tfjs-layers';
import { invalidArgument } from '../../errors.js';
import { Rng } from '../../util/rng.js';

/** Options every architecture takes; each architecture may accept a few more (listed in its doc comment). */
export interface ArchitectureOptions {
  inputShape: [number, number, number];
  numClasses: number;
  /** Seed of all weight initializers: the same seed gives the same initial weights. Default 0. */
  seed?: number;
  [option: string]: unknown;
}

/** tfjs-layers does not export its Initializer class type by name. */
export type Initializer = ReturnType<typeof tfl.initializers.heNormal>;

const COMMON_OPTIONS = ['inputShape', 'numClasses', 'seed'];

/** Reads architecture options for `arch`, rejecting names it does not know so that typos do not pass silently. */
export class OptionReader {
  readonly inputShape: [number, number, number];
  readonly numClasses: number;
  readonly seed: number;

  constructor(
    private readonly arch: string,
    private readonly opts: ArchitectureOptions,
    extraOptions: readonly string[],
  ) {
    const known = [...COMMON_OPTIONS, ...extraOptions];
    for (const key of Object.keys(opts)) {
      if (opts[key] !== undefined && !known.includes(key)) {
        throw invalidArgument(
          `Architecture '${arch}' has no option '${key}'. Its options: ${known.join(', ')}.`,
          { architecture: arch, option: key },
        );
      }
    }
    const shape = opts.inputShape;
    if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw invalidArgument(`${arch}: inputShape must be [height, width, channels], got ${JSON.stringify(shape)}.`);
    }
    this.inputShape = [shape[0], shape[1], shape[2]];
    this.numClasses = this.integer('numClasses', undefined, 2);
    this.seed = this.integer('seed', 0, 0);
  }

  integer(key: string, fallback: number | undefined, min: number): number {
    const value = this.opts[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw invalidArgument(`${this.arch}: option '${key}' must be an integer >= ${min}, got ${JSON.stringify(value)}.`);
    }
    return value;
  }

  rate(key: string, fallback: number): number {
    const value = this.opts[key] ?? fallback;
    if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
      throw invalidArgument(`${this.arch}: option '${key}' must be a number in [0, 1), got ${JSON.stringify(value)}.`);
    }
    return value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.opts[key] ?? fallback;
    if (typeof value !== 'boolean') {
      throw invalidArgument(`${this.arch}: option '${key}' must be true or false, got ${JSON.stringify(value)}.`);
    }
    return value;
  }

  integerList(key: string, fallback: number[]): number[] {
    const value = this.opts[key] ?? fallback;
    if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v) && v > 0)) {
      throw invalidArgument(
        `${this.arch}: option '${key}' must be a list of positive integers, got ${JSON.stringify(value)}.`,
      );
    }
    return value;
  }
}

/**
 * Hands out initializers with distinct seeds drawn from one Rng, in layer-construction order, so a whole
 * network is reproducible from a single seed. Convolutions use He-normal (He et al. 2015, for ReLU nets),
 * dense layers Glorot-uniform (Glorot & Bengio 2010, the Keras default).
 */
export class SeededInitializers {
  private readonly rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed);
  }

  conv(): Initializer {
    return tfl.initializers.heNormal({ seed: this.nextSeed() });
  }

  dense(): Initializer {
    return tfl.initializers.glorotUniform({ seed: this.nextSeed() });
  }

  private nextSeed(): number {
    return this.rng.int(2 ** 31);
  }
}
