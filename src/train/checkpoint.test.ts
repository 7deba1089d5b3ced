import { describe, expect, it } from 'vitest';
import { AdvkitError } from '../errors.js';
import { crc32, decodeCheckpoint, encodeCheckpoint, MemoryCheckpointStore } from './checkpoint.js';
import { sampleCheckpoint } from './test-utils/fixtures.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof AdvkitError ? err.code : 'not an AdvkitError';
  }
  return undefined;
}

describe('checkpoint encoding', () => {
  it('round-trips every field and every float bit', () => {
    const ckpt = sampleCheckpoint();
    const back = decodeCheckpoint(encodeCheckpoint(ckpt), 'test');
    expect(back).toEqual(ckpt);
    expect(Object.is(back.weights[1][2], -0)).toBe(true);
  });

  it('detects truncation, extra bytes, flipped bits and foreign files', () => {
    const bytes = encodeCheckpoint(sampleCheckpoint());
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 1), 'ck.bin')).toThrow(
      /ck.bin is unusable: it has \d+ bytes, expected \d+ \(truncated or partly written\)/,
    );
    expect(codeOf(() => decodeCheckpoint(bytes.subarray(0, 10), 'x'))).toBe('CORRUPT_DATA');
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    expect(() => decodeCheckpoint(longer, 'x')).toThrow(/truncated or partly written/);
    const flipped = bytes.slice();
    flipped[flipped.length - 5] ^= 1;
    expect(() => decodeCheckpoint(flipped, 'x')).toThrow(/checksum does not match/);
    expect(() => decodeCheckpoint(new TextEncoder().encode('{"not": "a checkpoint"}'), 'x')).toThrow(
      /bad magic/,
    );
  });

  it('round-trips named extra arrays and the guard state (format version 2)', () => {
    const ckpt = {
      ...sampleCheckpoint(),
      extra: {
        freeDelta: [Float32Array.from([0.25, -0.25, 0])],
        guardBestWeights: [Float32Array.from([1, 2, 3, 4, 5, 6]), Float32Array.from([7, 8, 9])],
      },
      guard: { robustAccuracy: [0.5, 0.125], bestEpoch: 0, bestRobustAccuracy: 0.5, collapsedAtEpoch: 1 },
      epochTotals: { ...sampleCheckpoint().epochTotals, adversarialLoss: 2.5, adversarialSeen: 4 },
    };
    const bytes = encodeCheckpoint(ckpt);
    expect(new DataView(bytes.buffer).getUint32(8, true)).toBe(2);
    expect(decodeCheckpoint(bytes, 'x')).toEqual(ckpt);
  });

  it('still reads version 1 files and names a version it does not know', () => {
    const bytes = encodeCheckpoint(sampleCheckpoint());
    const v1 = bytes.slice();
    new DataView(v1.buffer).setUint32(8, 1, true); // the version is outside the checksum
    expect(decodeCheckpoint(v1, 'old.bin')).toEqual(sampleCheckpoint());
    const v3 = bytes.slice();
    new DataView(v3.buffer).setUint32(8, 3, true);
    expect(() => decodeCheckpoint(v3, 'new.bin')).toThrow(
      /new.bin is unusable: format version 3 is not supported \(this advkit reads versions 1 and 2; a newer advkit wrote it\?\)/,
    );
  });

  it('crc32 matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    const whole = crc32(new TextEncoder().encode('hello world'));
    expect(crc32(new TextEncoder().encode(' world'), crc32(new TextEncoder().encode('hello')))).toBe(whole);
  });

  it('MemoryCheckpointStore keeps a private copy', async () => {
    const store = new MemoryCheckpointStore();
    expect(await store.read()).toBeNull();
    const bytes = Uint8Array.from([1, 2, 3]);
    await store.write(bytes);
    bytes[0] = 9;
    expect(Array.from((await store.read()) ?? [])).toEqual([1, 2, 3]);
  });
});
