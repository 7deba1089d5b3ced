import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { renderCanvasPng } from './canvas-png.js';

async function decode(
  png: Buffer,
): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

describe('renderCanvasPng', () => {
  it('pastes images pixel for pixel on a white canvas and draws text over it', async () => {
    const png = await renderCanvasPng({
      width: 60,
      height: 30,
      images: [
        {
          image: { data: Uint8Array.from([10, 20, 30, 40]), height: 2, width: 2, channels: 1 },
          left: 3,
          top: 4,
        },
        {
          image: { data: Uint8Array.from([200, 100, 50]), height: 1, width: 1, channels: 3 },
          left: 59,
          top: 29,
        },
      ],
      texts: [{ text: 'HI', x: 30, y: 25, size: 14, color: '#000' }],
    });
    const img = await decode(png);
    expect([img.width, img.height, img.channels]).toEqual([60, 30, 3]);
    const at = (x: number, y: number): number[] =>
      Array.from(img.data.subarray((y * 60 + x) * 3, (y * 60 + x) * 3 + 3));
    expect(at(0, 0)).toEqual([255, 255, 255]);
    expect(at(3, 4)).toEqual([10, 10, 10]);
    expect(at(4, 5)).toEqual([40, 40, 40]);
    expect(at(59, 29)).toEqual([200, 100, 50]);
    // The text made some dark pixels where nothing was pasted.
    let dark = 0;
    for (let y = 12; y < 27; y++) for (let x = 28; x < 50; x++) if (at(x, y)[0] < 128) dark++;
    expect(dark).toBeGreaterThan(10);
  });

  it('refuses an image that does not fit', async () => {
    const image = { data: new Uint8Array(4), height: 2, width: 2, channels: 1 as const };
    await expect(
      renderCanvasPng({ width: 3, height: 3, images: [{ image, left: 2, top: 0 }], texts: [] }),
    ).rejects.toThrow(/does not fit a 3x3 canvas/);
    await expect(renderCanvasPng({ width: 0, height: 3, images: [], texts: [] })).rejects.toThrow(
      /canvas size/,
    );
  });
});
