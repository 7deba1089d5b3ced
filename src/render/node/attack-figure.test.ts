import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { PixelImage } from '../pixel-image.js';
import { layoutAttackFigure, renderAttackFigure, type AttackFigureRow } from './attack-figure.js';

const flat = (h: number, w: number, c: 1 | 3, value: number): PixelImage => ({
  data: new Uint8Array(h * w * c).fill(value),
  height: h,
  width: w,
  channels: c,
});

function row(size: number, channels: 1 | 3): AttackFigureRow {
  return {
    name: 'digit.png',
    budget: 'eps 8/255',
    original: flat(size, size, channels, 0),
    adversarial: flat(size, size, channels, 200),
    perturbation: flat(size, size, channels, 128),
    clean: { label: '7', confidence: 0.999 },
    adversarialPrediction: { label: '3', confidence: 0.8 },
    success: true,
    distance: 'Linf 0.0314 · L2 1.2',
  };
}

describe('attack figure', () => {
  it('lays out three panels per row, enlarging 28x28 inputs to 224 px', () => {
    const layout = layoutAttackFigure([row(28, 1), row(28, 1)], { title: 'pgd' });
    expect(layout.panels).toHaveLength(2);
    for (const panels of layout.panels) {
      expect(panels.map((p) => [p.width, p.height])).toEqual([
        [224, 224],
        [224, 224],
        [224, 224],
      ]);
      expect(panels[1].left).toBeGreaterThan(panels[0].left + 224);
      expect(panels[2].left + 224).toBeLessThanOrEqual(layout.width);
    }
    expect(layout.panels[1][0].top).toBeGreaterThan(layout.panels[0][0].top + 224);
    expect(layout.panels[1][0].top + 224).toBeLessThan(layout.height);
  });

  it('keeps a 224x224 photo at its size', () => {
    const [first] = layoutAttackFigure([row(224, 3)]).panels[0];
    expect([first.width, first.height]).toEqual([224, 224]);
  });

  it('renders a PNG of the layout size with the panels where the layout says', async () => {
    const rows = [row(28, 1)];
    const layout = layoutAttackFigure(rows);
    const png = await renderAttackFigure(rows);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([layout.width, layout.height]);
    const at = (x: number, y: number): number => data[(y * info.width + x) * info.channels];
    const [orig, adv, noise] = layout.panels[0];
    const centre = (b: typeof orig): [number, number] => [b.left + b.width / 2, b.top + b.height / 2];
    expect(at(...centre(orig))).toBe(0);
    expect(at(...centre(adv))).toBe(200);
    expect(at(...centre(noise))).toBe(128);
    // Titles above the panels are drawn: dark pixels between the top and the first panel.
    let dark = 0;
    for (let y = 0; y < orig.top; y++)
      for (let x = orig.left; x < orig.left + orig.width; x++) if (at(x, y) < 100) dark++;
    expect(dark).toBeGreaterThan(50);
  });
});
