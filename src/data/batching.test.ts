import { describe, expect, it } from 'vitest';
import { AdvkitError } from '../errors.js';
import { batchIndices } from './batching.js';

const flat = (batches: Int32Array[]): number[] => batches.flatMap((b) => Array.from(b));

describe('batchIndices', () => {
  it('covers every index once, in order without shuffle', () => {
    const batches = batchIndices(10, { batchSize: 4 });
    expect(batches.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(flat(batches)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('drops a short last batch when asked', () => {
    expect(batchIndices(10, { batchSize: 4, dropLast: true }).map((b) => b.length)).toEqual([4, 4]);
  });

  it('shuffles reproducibly per seed and epoch, covering every index', () => {
    const a = flat(batchIndices(1000, { batchSize: 64, shuffle: true, seed: 7, epoch: 3 }));
    const b = flat(batchIndices(1000, { batchSize: 64, shuffle: true, seed: 7, epoch: 3 }));
    expect(a).toEqual(b);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const otherEpoch = flat(batchIndices(1000, { batchSize: 64, shuffle: true, seed: 7, epoch: 4 }));
    const otherSeed = flat(batchIndices(1000, { batchSize: 64, shuffle: true, seed: 8, epoch: 3 }));
    expect(otherEpoch).not.toEqual(a);
    expect(otherSeed).not.toEqual(a);
    // (seed, epoch) = (1, 0) and (0, 1) must not give the same order, as a plain seed ^ epoch would.
    const s1e0 = flat(batchIndices(50, { batchSize: 50, shuffle: true, seed: 1, epoch: 0 }));
    const s0e1 = flat(batchIndices(50, { batchSize: 50, shuffle: true, seed: 0, epoch: 1 }));
    expect(s1e0).not.toEqual(s0e1);
  });

  it('handles an empty dataset and rejects bad options', () => {
    expect(batchIndices(0, { batchSize: 8 })).toEqual([]);
    expect(() => batchIndices(10, { batchSize: 0 })).toThrow(AdvkitError);
    expect(() => batchIndices(10, { batchSize: 2.5 })).toThrow(/batchSize/);
    expect(() => batchIndices(-1, { batchSize: 2 })).toThrow(/count/);
    expect(() => batchIndices(10, { batchSize: 2, shuffle: true, seed: 0.5 })).toThrow(/seed/);
  });
});
