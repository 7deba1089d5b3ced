import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { PixelImage } from '../pixel-image.js';
import { heatmapCell, mapDisplay, renderExplainGrid, type ExplainGridMap } from './explain-grid.js';

const grey = (h: number, w: number, channels: 1 | 3): PixelImage => ({
  data: new Uint8Array(h * w * channels).fill(128),
  height: h,
  width: w,
  channels,
});

/** A 4x4 RGB gradient map: +1 in the top-left pixel's red channel, -3 in the bottom-right's blue one. */
function pixelMap(display = mapDisplay('ig', 'pixel')): ExplainGridMap {
  const values = new Float32Array(4 * 4 * 3);
  values[0] = 1;
  values[15 * 3 + 2] = -3;
  return { values, channels: 3, display };
}

describe('explain grid', () => {
  it('draws signed maps red for, blue against, and magnitudes bright, with the scale on the bar', () => {
    const signed = heatmapCell(grey(4, 4, 3), pixelMap());
    const px = (img: PixelImage, p: number): number[] => [...img.data.subarray(p * 3, p * 3 + 3)];
    const [r0, , b0] = px(signed.image, 0);
    const [r15, , b15] = px(signed.image, 15);
    expect(r0).toBeGreaterThan(b0);
    expect(b15).toBeGreaterThan(r15);
    expect(signed.bar).toMatchObject({ top: '3', bottom: '-3' });
    const magnitude = heatmapCell(grey(4, 4, 3), pixelMap(mapDisplay('saliency', 'pixel')));
    // |-3| is the brightest pixel, zero gradients the darkest.
    const brightness = (p: number): number => px(magnitude.image, p).reduce((a, v) => a + v, 0);
    expect(brightness(15)).toBeGreaterThan(brightness(0));
    expect(brightness(0)).toBeGreaterThan(brightness(5));
    expect(magnitude.bar).toMatchObject({ top: '3', bottom: '0' });
  });

  it('chooses the display per method', () => {
    expect(mapDisplay('smoothgrad', 'pixel')).toMatchObject({ reduce: 'abs-sum', scale: 'unsigned' });
    expect(mapDisplay('gradcam', 'spatial')).toMatchObject({ scale: 'unsigned', percentile: 100 });
    expect(mapDisplay('gradcam', 'spatial', { relu: false }).scale).toBe('signed');
    expect(mapDisplay('occlusion', 'spatial').scale).toBe('signed');
    expect(mapDisplay('new-method', 'spatial').scale).toBe('signed');
  });

  it('draws grey inputs with one-channel maps (MNIST), and tells a map that does not fit', () => {
    const values = Float32Array.from({ length: 16 }, (_, i) => (i === 3 ? -2 : 0));
    const cell = heatmapCell(grey(4, 4, 1), {
      values,
      channels: 1,
      display: mapDisplay('saliency', 'pixel'),
    });
    expect(cell.image.channels).toBe(3);
    expect(cell.bar?.top).toBe('2');
    expect(() => heatmapCell(grey(4, 4, 1), { ...pixelMap(), channels: 1 })).toThrow(
      /does not fit a 4x4 input/,
    );
  });

  it('renders a column for the input and one per method, a row per input', async () => {
    const rows = ['cat.png\nclean', 'cat.png\npgd 2/255'].map((label) => ({
      label,
      image: grey(4, 4, 3),
      caption: 'cat 90%',
      maps: [
        pixelMap(),
        { values: new Float32Array(16).fill(0.5), channels: 1, display: mapDisplay('gradcam', 'spatial') },
      ],
    }));
    const png = await renderExplainGrid({ title: 'Attributions', methods: ['ig', 'gradcam'], rows });
    const meta = await sharp(png).metadata();
    // Three 96-pixel columns (4x4 pictures are enlarged x24) and two rows.
    expect(meta.width).toBeGreaterThan(3 * 96);
    expect(meta.height).toBeGreaterThan(2 * 96);
    await expect(renderExplainGrid({ title: 'x', methods: ['ig'], rows })).rejects.toThrow(
      /2 maps for 1 method columns/,
    );
  });
});
