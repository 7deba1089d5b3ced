import { describe, expect, it } from 'vitest';
import { AdvkitError } from '../errors.js';
import { readTar } from './tar.js';
import { tarBytes } from './test-utils/synthetic.js';

const files = [
  { name: 'dir/a.bin', data: new Uint8Array([1, 2, 3]) },
  { name: 'dir/b.txt', data: new Uint8Array(700).fill(7) },
];

describe('readTar', () => {
  it('yields regular files with their contents', () => {
    const entries = [...readTar(tarBytes(files), 'x.tar')];
    expect(entries.map((e) => e.name)).toEqual(['dir/a.bin', 'dir/b.txt']);
    expect(Array.from(entries[0].data)).toEqual([1, 2, 3]);
    expect(entries[1].data.length).toBe(700);
  });

  it('rejects a corrupt header and a truncated archive', () => {
    const bad = tarBytes(files);
    bad[10] ^= 0xff;
    expect(() => [...readTar(bad, 'bad.tar')]).toThrow(/bad\.tar.*checksum/);
    const cut = tarBytes(files).subarray(0, 1200);
    expect(() => [...readTar(cut, 'cut.tar')]).toThrow(AdvkitError);
    expect(() => [...readTar(cut, 'cut.tar')]).toThrow(/truncated/);
  });
});
