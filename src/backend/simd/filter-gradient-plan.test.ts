import { describe, expect, it } from 'vitest';
import { TASK_BYTES } from './filter-gradient-module.js';
import { planFilterGradient, splitTasks, type ConvGeometry } from './filter-gradient-plan.js';

const FIELDS = TASK_BYTES / 4;

function geometry(overrides: Partial<ConvGeometry>): ConvGeometry {
  return {
    batch: 2,
    inHeight: 4,
    inWidth: 4,
    inChannels: 3,
    outHeight: 4,
    outWidth: 4,
    outChannels: 8,
    filterHeight: 3,
    filterWidth: 3,
    strideHeight: 1,
    strideWidth: 1,
    dilationHeight: 1,
    dilationWidth: 1,
    padTop: 1,
    padLeft: 1,
    ...overrides,
  };
}

describe('planFilterGradient', () => {
  it('covers exactly the (tap, pixel) pairs whose input lies inside the image', () => {
    // 3x3 'same' on 4x4: taps see 3, 4, 3 rows and 3, 4, 3 columns, so 10 * 10 pairs per image
    const plan = planFilterGradient(geometry({}));
    expect(plan.cumulativePixels[plan.tasks]).toBe(2 * 100);
    let pixels = 0;
    for (let t = 0; t < plan.tasks; t++) pixels += plan.table[t * FIELDS + 3] * plan.table[t * FIELDS + 4];
    expect(pixels).toBe(2 * 100);
  });

  it('starts each task at the first in-image input pixel of its tap', () => {
    const g = geometry({ batch: 1 });
    const plan = planFilterGradient(g);
    // first task: tap (0, 0) from output (1, 1), whose input is (0, 0); dW offset of tap 0 is 0
    expect(Array.from(plan.table.subarray(0, FIELDS))).toEqual([0, 4 * (1 * 4 + 1) * 8, 0, 3, 3]);
    // the centre tap (1, 1) reads the whole image from (0, 0)
    const centre = 4;
    expect(Array.from(plan.table.subarray(centre * FIELDS, (centre + 1) * FIELDS))).toEqual([
      0,
      0,
      4 * 4 * 3 * 8,
      4,
      4,
    ]);
  });

  it('cuts large images into bands of rows', () => {
    const g = geometry({ batch: 1, inHeight: 64, inWidth: 64, outHeight: 64, outWidth: 64, inChannels: 32 });
    const plan = planFilterGradient(g);
    expect(plan.tasks).toBeGreaterThan(9);
    // still (63 + 64 + 63) valid rows times as many columns over the taps
    expect(plan.cumulativePixels[plan.tasks]).toBe(190 * 190);
  });
});

describe('splitTasks', () => {
  it('gives ranges of about equal pixel work that cover every task once', () => {
    const plan = planFilterGradient(geometry({ batch: 5 }));
    const bounds = splitTasks(plan, 3);
    expect(bounds[0]).toBe(0);
    expect(bounds[3]).toBe(plan.tasks);
    const total = plan.cumulativePixels[plan.tasks];
    for (let p = 0; p < 3; p++) {
      const work = plan.cumulativePixels[bounds[p + 1]] - plan.cumulativePixels[bounds[p]];
      expect(Math.abs(work - total / 3)).toBeLessThanOrEqual(16);
    }
  });
});
