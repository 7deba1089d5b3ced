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
