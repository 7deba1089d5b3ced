import { describe, expect, it } from 'vitest';
import { AdvkitError } from '../../errors.js';
import { Rng } from '../../util/rng.js';
import { drawPlacements, patchMask, renderPlan } from './placement.js';

const image = { height: 20, width: 30 };

describe('drawPlacements', () => {
  it('is reproducible from the seed and keeps random placements inside the image', () => {
    const options = { scale: [0.5, 1.5], rotation: [-45, 45] } as const;
    const a = drawPlacements(200, image, 6, options, new Rng(3));
    expect(drawPlacements(200, image, 6, options, new Rng(3))).toEqual(a);
    expect(drawPlacements(200, image, 6, options, new Rng(4))).not.toEqual(a);
    for (const p of a) {
      expect(p.side).toBeGreaterThanOrEqual(3);
      expect(p.side).toBeLessThanOrEqual(9);
      expect(Math.abs(p.rotation)).toBeLessThanOrEqual(45);
      const rad = (p.rotation * Math.PI) / 180;
      const half = (p.side / 2) * (Math.abs(Math.cos(rad)) + Math.abs(Math.sin(rad)));
      expect(p.centerX - half).toBeGreaterThanOrEqual(-1e-9);
      expect(p.centerX + half).toBeLessThanOrEqual(image.width + 1e-9);
      expect(p.centerY - half).toBeGreaterThanOrEqual(-1e-9);
      expect(p.centerY + half).toBeLessThanOrEqual(image.height + 1e-9);
    }
  });

  it('puts a fixed position at the top-left corner of the scaled patch', () => {
    const [p] = drawPlacements(1, image, 4, { position: { x: 2, y: 3 }, scale: 2, rotation: 10 }, new Rng(0));
    expect(p).toEqual({ centerX: 6, centerY: 7, side: 8, rotation: 10 });
  });

  it('rejects bad scales, rotations and positions with INVALID_ARGUMENT', () => {
    const bad = [
      { scale: 0 },
      { scale: [2, 1] as const },
      { rotation: Number.NaN },
      { position: { x: Infinity, y: 0 } },
    ];
    for (const options of bad) {
      expect(() => drawPlacements(1, image, 4, options, new Rng(0))).toThrow(AdvkitError);
    }
  });
});

describe('patchMask', () => {
  it('covers the whole square, or the inscribed disc', () => {
    expect(Array.from(patchMask(3, 'square'))).toEqual(new Array(9).fill(1));
    const disc = patchMask(10, 'circle');
    expect(disc[0]).toBe(0);
    expect(disc[5 * 10 + 5]).toBe(1);
    const area = disc.reduce((a, b) => a + b, 0);
    expect(Math.abs(area - (Math.PI / 4) * 100)).toBeLessThan(6);
  });
});

describe('renderPlan', () => {
  it('copies the patch pixel for pixel when it sits on the pixel grid at scale 1 without rotation', () => {
    const side = 3;
    const plan = renderPlan(
      [{ centerX: 5.5, centerY: 3.5, side, rotation: 0 }],
      image,
      side,
      patchMask(side, 'square'),
    );
    const m = plan.pixels.length;
    expect(m).toBe(9);
    for (let i = 0; i < m; i++) {
      const y = Math.floor(plan.pixels[i] / image.width);
      const x = plan.pixels[i] % image.width;
      expect(plan.coverage[plan.pixels[i]]).toBeCloseTo(1, 6);
      // The first tap has all the weight and is the patch pixel under (x, y).
      expect(plan.weights[i]).toBeCloseTo(1, 6);
      expect(plan.sources[i]).toBe((y - 2) * side + (x - 4));
    }
    const covered = plan.coverage.reduce((a, b) => a + b, 0);
    expect(covered).toBeCloseTo(9, 5);
  });

  it('keeps every coverage in [0, 1] and the total near the placed area when rotated and scaled', () => {
    const side = 8;
    const placements = [
      { centerX: 12, centerY: 9, side: 10, rotation: 30 },
      { centerX: 15, centerY: 10, side: 6, rotation: -80 },
    ];
    const plan = renderPlan(placements, image, side, patchMask(side, 'square'));
    for (const c of plan.coverage) {
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThanOrEqual(1 + 1e-6);
    }
    const perImage = image.height * image.width;
    const first = plan.coverage.subarray(0, perImage).reduce((a, b) => a + b, 0);
    const second = plan.coverage.subarray(perImage).reduce((a, b) => a + b, 0);
    // Bilinear sampling blurs the outline by up to a pixel on each side, so the area matches to within the rim.
    expect(Math.abs(first - 100)).toBeLessThan(0.5 * 4 * 10);
    expect(Math.abs(second - 36)).toBeLessThan(0.5 * 4 * 6);
  });
});
