import { describe, expect, it } from 'vitest';
import { base64ToFloat32, decodeBase64, encodeBase64, float32ToBase64 } from './base64.js';

describe('base64', () => {
  it('matches the standard encoding for every padding length', () => {
    for (const text of ['', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar']) {
      const bytes = new TextEncoder().encode(text);
      const encoded = encodeBase64(bytes);
      expect(encoded).toBe(Buffer.from(text).toString('base64'));
      expect(Array.from(decodeBase64(encoded) ?? [])).toEqual(Array.from(bytes));
    }
  });

  it('round-trips float32 values exactly', () => {
    const values = new Float32Array([0, -1.5, Math.PI, 1e-30, Number.MAX_VALUE, NaN]);
    const back = base64ToFloat32(float32ToBase64(values));
    expect(back && Array.from(back)).toEqual(Array.from(values));
  });

  it('rejects text that is not base64', () => {
    expect(decodeBase64('abc')).toBeNull();
    expect(decodeBase64('ab$=')).toBeNull();
    expect(base64ToFloat32('AAA=')).toBeNull();
  });
});
