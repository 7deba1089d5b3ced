import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { patchPng } from './patch-png.js';

describe('patchPng', () => {
  it('maps the bounds onto 0..255, repeats a grey channel, and is transparent off the mask', async () => {
    const png = await patchPng({
      values: [-1, 0, 1, 1],
      mask: [1, 1, 1, 0],
      side: 2,
      channels: 1,
      bounds: [-1, 1],
    });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([2, 2, 4]);
    expect(Array.from(data)).toEqual([
      0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255, 255, 255, 255, 0,
    ]);
  });
});
