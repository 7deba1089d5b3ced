import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { PixelImage } from '../pixel-image.js';
import { layoutGallery, renderGallery, type GalleryCell, type GallerySection } from './gallery.js';

const flat = (size: number, value: number): PixelImage => ({
  data: new Uint8Array(size * size).fill(value),
  height: size,
  width: size,
  channels: 1,
});

const cell = (i: number): GalleryCell => ({
  original: flat(28, 10 + i),
  adversarial: flat(28, 100 + i),
  perturbation: flat(28, 128),
  caption: `${i} → ${(i + 1) % 10} 90.0%`,
  detail: `true ${i} · linf 0.300`,
  success: i % 2 === 0,
});

const sections = (counts: number[]): GallerySection[] =>
  counts.map((n, s) => ({ title: `eps ${s}`, cells: Array.from({ length: n }, (_, i) => cell(i)) }));

describe('gallery', () => {
  it('wraps cells into rows that stay inside maxWidth, one block per section', () => {
    const layout = layoutGallery(sections([12, 12]), { title: 't', legend: 'l', maxWidth: 900 });
    expect(layout.width).toBeLessThanOrEqual(900);
    const first = layout.cells[0];
    expect(first[0].map((b) => [b.width, b.height])).toEqual([
      [84, 84],
      [84, 84],
      [84, 84],
    ]);
    const perRow = first.filter((c) => c[0].top === first[0][0].top).length;
    expect(perRow).toBe(3); // 3 cells of 258 px (+14 px gaps) in 900 - 2 x 16
    expect(first[perRow][0].top).toBeGreaterThan(first[0][0].top + 84);
    expect(layout.headings[1]).toBeGreaterThan(first[11][0].top + 84);
    expect(layout.cells[1][11][0].top + 84).toBeLessThan(layout.height);
  });

  it('renders the cells as laid out', async () => {
    const s = sections([5]);
    const options = { title: 'pgd on mnist' };
    const layout = layoutGallery(s, options);
    const png = await renderGallery(s, options);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([layout.width, layout.height]);
    const at = (x: number, y: number): number => data[(y * info.width + x) * info.channels];
    layout.cells[0].forEach((boxes, i) => {
      expect(at(boxes[0].left + 40, boxes[0].top + 40)).toBe(10 + i);
      expect(at(boxes[1].left + 40, boxes[1].top + 40)).toBe(100 + i);
      expect(at(boxes[2].left + 40, boxes[2].top + 40)).toBe(128);
    });
  });
});
