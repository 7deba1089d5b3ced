import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { PixelImage } from '../pixel-image.js';
import { layoutImageGrid, renderImageGrid, type ImageGrid } from './image-grid.js';

const flat = (size: number, value: number): PixelImage => ({
  data: new Uint8Array(size * size * 3).fill(value),
  height: size,
  width: size,
  channels: 3,
});

const grid = (captions: boolean, scale?: number): ImageGrid => ({
  title: 'Images that maximize each class logit',
  legend: '100 L2 steps of 1',
  columns: ['airplane', 'cat', 'ship'],
  rows: ['cifar-cnn', 'cifar-cnn-robust'].map((label, r) => ({
    label,
    cells: [0, 1, 2].map((c) => ({
      image: flat(32, 10 * (3 * r + c) + 5),
      ...(captions ? { caption: 'cat 97%' } : {}),
    })),
  })),
  ...(scale !== undefined ? { scale } : {}),
});

describe('image grid', () => {
  it('enlarges 32x32 pictures by a whole factor to at least 96 px, or by the scale given', () => {
    expect(layoutImageGrid(grid(false)).cells[0][0]).toMatchObject({ width: 96, height: 96 });
    expect(layoutImageGrid(grid(false, 4)).cells[0][0]).toMatchObject({ width: 128, height: 128 });
  });

  it('puts the rows under each other and the columns side by side, right of the row labels', () => {
    const layout = layoutImageGrid(grid(true));
    const [first, second] = layout.cells;
    expect(first.map((b) => b.top)).toEqual([first[0].top, first[0].top, first[0].top]);
    expect(first[1].left).toBeGreaterThan(first[0].left + 96);
    expect(second[0].top).toBeGreaterThan(first[0].top + 96 + 11);
    expect(first[0].left).toBeGreaterThan('cifar-cnn-robust'.length * 13 * 0.5);
    expect(first[0].top).toBeGreaterThan(layout.columnLabelY);
    expect(second[2].left + 96).toBeLessThanOrEqual(layout.width);
    expect(second[2].top + 96).toBeLessThan(layout.height);
  });

  it('renders every picture where the layout puts it', async () => {
    const g = grid(true, 3);
    const layout = layoutImageGrid(g);
    const png = await renderImageGrid(g);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([layout.width, layout.height]);
    const at = (x: number, y: number): number => data[(y * info.width + x) * info.channels];
    layout.cells.forEach((row, r) =>
      row.forEach((box, c) => {
        expect(at(box.left + 48, box.top + 48)).toBe(10 * (3 * r + c) + 5);
        expect(at(box.left + 95, box.top + 95)).toBe(10 * (3 * r + c) + 5);
      }),
    );
  });

  it('draws a colour bar with its values right of a picture, multi-line row labels and gaps between groups', async () => {
    const bar = { image: flat(4, 200), top: '0.031', bottom: '-0.031' };
    const g: ImageGrid = {
      columns: ['image', 'saliency'],
      rows: ['a.png\ncifar-cnn\nclean', 'a.png\ncifar-cnn\npgd 2/255', 'b.png\ncifar-cnn\nclean'].map(
        (label, r) => ({
          label,
          groupStart: r === 2,
          cells: [{ image: flat(32, 20) }, { image: flat(32, 40), bar, caption: 'for cat' }],
        }),
      ),
    };
    const layout = layoutImageGrid(g);
    const [first, second, third] = layout.cells;
    expect(layout.bars[0][0]).toBeUndefined();
    const box = layout.bars[0][1];
    expect(box).toMatchObject({ left: first[1].left + 96 + 4, top: first[1].top, height: 96 });
    // The columns make room for the bars and their labels; the third row starts a group further down.
    expect(first[1].left - first[0].left).toBeGreaterThan(96 + 8 + 6 * 9 * 0.6);
    expect(third[0].top - second[0].top).toBeGreaterThan(second[0].top - first[0].top);
    expect(first[0].left).toBeGreaterThan('pgd 2/255'.length * 13 * 0.6);
    const png = await renderImageGrid(g);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number): number => data[(y * info.width + x) * info.channels];
    if (box === undefined) throw new Error('no bar box');
    expect(at(box.left + 2, box.top + 50)).toBe(200);
    expect(at(first[1].left + 50, first[1].top + 50)).toBe(40);
    expect(
      layoutImageGrid(grid(false))
        .bars.flat()
        .every((b) => b === undefined),
    ).toBe(true);
  });
});
