import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { caughtAdvkitError, scratchDir } from './test-utils/scratch.js';
import { decodeNpy, encodeNpy } from './npy.js';

/** Whether python3 with NumPy is here, to read the files back with the reader the format is for. */
function hasNumpy(): boolean {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const caught = (f: () => unknown): Promise<Error & { code?: string }> =>
  caughtAdvkitError(Promise.resolve().then(f));

describe('npy', () => {
  it('writes version 1.0 with a header padded to 64 bytes, little-endian float32 in C order', () => {
    const values = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i - 0.5);
    const bytes = encodeNpy(values, [2, 3, 4]);
    expect([...bytes.subarray(0, 8)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLength = bytes[8] + 256 * bytes[9];
    expect((10 + headerLength) % 64).toBe(0);
    const header = String.fromCharCode(...bytes.subarray(10, 10 + headerLength));
    expect(header).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3, 4\), \} *\n$/);
    const view = new DataView(bytes.buffer);
    expect(view.getFloat32(10 + headerLength + 4 * 5, true)).toBe(4.5);
    expect(bytes.length).toBe(10 + headerLength + 4 * values.length);
    expect(decodeNpy(bytes)).toEqual({ shape: [2, 3, 4], values });
  });

  it('writes a 1-D shape as a one-element tuple, and an empty array', () => {
    const one = encodeNpy([1, 2, 3], [3]);
    expect(String.fromCharCode(...one.subarray(10, 64))).toContain("'shape': (3,)");
    expect(decodeNpy(one).shape).toEqual([3]);
    expect(decodeNpy(encodeNpy([], [0, 4])).shape).toEqual([0, 4]);
  });

  it('refuses values that do not fill the shape, and files it did not write', async () => {
    expect((await caught(() => encodeNpy([1, 2], [3]))).message).toContain('2 values do not fill shape [3]');
    expect((await caught(() => encodeNpy([1], [1.5]))).message).toContain('whole numbers');
    const good = encodeNpy([1, 2, 3, 4], [2, 2]);
    const truncated = await caught(() => decodeNpy(good.subarray(0, good.length - 4), 'maps.npy'));
    expect([truncated.code, truncated.message]).toEqual([
      'CORRUPT_DATA',
      'maps.npy: has 12 data bytes; shape (2, 2) needs 16.',
    ]);
    expect((await caught(() => decodeNpy(new Uint8Array(16)))).message).toContain('not a NumPy .npy file');
  });

  it.runIf(hasNumpy())('is read back by numpy.load with the same shape, dtype and values', () => {
    const file = path.join(scratchDir(), 'maps.npy');
    const values = Float32Array.from({ length: 2 * 5 * 3 }, (_, i) => Math.sin(i) * 1e-3);
    writeFileSync(file, encodeNpy(values, [2, 5, 3]));
    const script =
      'import json, sys, numpy as np; a = np.load(sys.argv[1]); ' +
      'print(json.dumps([a.dtype.str, list(a.shape), a.flags.c_contiguous, a.ravel().tolist()]))';
    const [dtype, shape, contiguous, read] = JSON.parse(
      execFileSync('python3', ['-c', script, file], { encoding: 'utf8' }),
    ) as [string, number[], boolean, number[]];
    expect([dtype, shape, contiguous]).toEqual(['<f4', [2, 5, 3], true]);
    expect(Float32Array.from(read)).toEqual(values);
  });
});
