import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AdvkitError } from '../../errors.js';

import { readImageFile, writePng } from './image-file.js';
import { scratchDir } from '../test-utils/scratch.js';

/** A 4x6 RGB gradient. */
function rgb(): Uint8Array {
  const p = new Uint8Array(4 * 6 * 3);
  for (let i = 0; i < 24; i++) p.set([i * 10, 255 - i * 10, (i * 37) % 256], i * 3);
  return p;
}

describe('writePng / readImageFile', () => {
  it('round-trips RGB and grayscale pixels exactly, leaving no temporary file', async () => {
    const dir = scratchDir();
    await writePng(path.join(dir, 'sub', 'c.png'), rgb(), 4, 6, 3);
    const back = await readImageFile(path.join(dir, 'sub', 'c.png'));
    expect([back.height, back.width, back.channels]).toEqual([4, 6, 3]);
    expect(Array.from(back.pixels)).toEqual(Array.from(rgb()));
    const gray = Uint8Array.from({ length: 12 }, (_, i) => i * 20);
    await writePng(path.join(dir, 'g.png'), gray, 3, 4, 1);
    const g = await readImageFile(path.join(dir, 'g.png'));
    expect(g.channels).toBe(1);
    expect(Array.from(g.pixels)).toEqual(Array.from(gray));
    expect(readdirSync(dir).sort()).toEqual(['g.png', 'sub']);
    expect(readdirSync(path.join(dir, 'sub'))).toEqual(['c.png']);
  });

  it('converts channels and resizes', async () => {
    const dir = scratchDir();
    await writePng(path.join(dir, 'c.png'), rgb(), 4, 6, 3);
    const gray = await readImageFile(path.join(dir, 'c.png'), { channels: 1, size: [2, 2] });
    expect([gray.height, gray.width, gray.channels, gray.pixels.length]).toEqual([2, 2, 1, 4]);
    const g3 = await readImageFile(path.join(dir, 'c.png'), { channels: 3, size: [8, 12], fit: 'fill' });
    expect(g3.pixels.length).toBe(8 * 12 * 3);
  });

  it('rejects bad input with clear errors', async () => {
    const dir = scratchDir();
    await expect(writePng(path.join(dir, 'x.png'), new Uint8Array(5), 2, 2, 1)).rejects.toThrow(/2x2x1/);
    await expect(writePng(path.join(dir, 'x.png'), new Uint8Array(8), 2, 2, 2)).rejects.toThrow(/1, 3 or 4/);
    expect(readdirSync(dir)).toEqual([]);
    await expect(readImageFile(path.join(dir, 'missing.png'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    writeFileSync(path.join(dir, 'bad.png'), 'not an image');
    const err = await readImageFile(path.join(dir, 'bad.png')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdvkitError);
    expect(err).toMatchObject({ code: 'CORRUPT_DATA' });
    expect((err as AdvkitError).message).toContain('bad.png');
    await expect(readImageFile(path.join(dir, 'bad.png'), { size: [0, 3] })).rejects.toThrow(/size/);
  });
});
