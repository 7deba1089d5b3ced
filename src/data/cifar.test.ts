import { describe, expect, it } from 'vitest';
import { AdvkitError } from '../errors.js';
import { checkPartialTestLabels, parseCifarBatch } from './cifar.js';
import { cifarBytes } from './test-utils/synthetic.js';

function corruptMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AdvkitError);
    expect((err as AdvkitError).code).toBe('CORRUPT_DATA');
    return (err as AdvkitError).message;
  }
  throw new Error('expected a CORRUPT_DATA error');
}

describe('CIFAR-10 binary parser', () => {
  it('converts R,G,B planes to NHWC', () => {
    const batch = parseCifarBatch(cifarBytes([3, 9]), 'b.bin');
    expect(batch.count).toBe(2);
    expect(Array.from(batch.labels)).toEqual([3, 9]);
    expect(batch.pixels.length).toBe(2 * 3072);
    // image 1, pixel 5 (row 0, col 5): R = (1 + 5) % 256, G = 100, B = 5 % 7
    expect(Array.from(batch.pixels.subarray(3072 + 15, 3072 + 18))).toEqual([6, 100, 5]);
    // image 0, pixel 1023 (last): R = 1023 % 256
    expect(Array.from(batch.pixels.subarray(3069, 3072))).toEqual([255, 100, 1023 % 7]);
  });

  it('rejects truncated and empty files, naming the file', () => {
    const bytes = cifarBytes([1, 2]);
    expect(corruptMessage(() => parseCifarBatch(bytes.subarray(0, 5000), 'cut.bin'))).toMatch(
      /cut\.bin.*3073/,
    );
    expect(corruptMessage(() => parseCifarBatch(new Uint8Array(0), 'empty.bin'))).toContain('empty.bin');
  });

  it('rejects labels above 9', () => {
    expect(corruptMessage(() => parseCifarBatch(cifarBytes([1, 10]), 'c100.bin'))).toContain(
      'record 1 has label 10',
    );
  });

  it('checks a partial test batch against the full labels file', () => {
    const batch = new Int32Array([3, 8, 8]);
    expect(() => checkPartialTestLabels(batch, 'b', new Uint8Array([3, 8, 8, 0, 6]), 'l')).not.toThrow();
    expect(
      corruptMessage(() => checkPartialTestLabels(batch, 'b', new Uint8Array([3, 8, 7, 0]), 'l')),
    ).toContain('disagree at test image 2');
    expect(corruptMessage(() => checkPartialTestLabels(batch, 'b', new Uint8Array([3, 8]), 'l'))).toContain(
      'fewer',
    );
  });
});
