import { describe, expect, it } from 'vitest';
import { colorBar, colorize, normalizeMap, overlayHeatmap, pixelImportance } from './heatmap.js';

describe('heatmap', () => {
  it('reduces channels by magnitude or sign', () => {
    const map = [1, -2, 3, -4];
    expect(Array.from(pixelImportance(map, [1, 2, 2], 'abs-sum'))).toEqual([3, 7]);
    expect(Array.from(pixelImportance(map, [1, 2, 2], 'sum'))).toEqual([-1, -1]);
    expect(() => pixelImportance(map, [2, 2, 2], 'sum')).toThrow(/4 values do not make a 2x2x2 map/);
  });

  it('scales by a percentile of the magnitudes and clips outliers', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    values[99] = 10_000;
    const { values: out, scale } = normalizeMap(values, 99);
    expect(scale).toBe(99);
    expect(out[98]).toBe(1);
    expect(out[99]).toBe(1);
    expect(out[0]).toBeCloseTo(1 / 99, 6);
    expect(Array.from(normalizeMap([0, 0, 0]).values)).toEqual([0, 0, 0]);
    expect(normalizeMap([-4, 2]).values[0]).toBe(-1);
  });

  it('colours the ends of each scale and white at zero on the signed one', () => {
    const unsigned = colorize([0, 1], 1, 2, 'unsigned').data;
    expect(Array.from(unsigned.subarray(0, 3))).toEqual([0, 0, 0]);
    const signed = colorize([-1, 0, 1], 1, 3, 'signed').data;
    expect(Array.from(signed.subarray(3, 6))).toEqual([248, 248, 248]);
    expect(signed[0]).toBeLessThan(signed[2]);
    expect(signed[6]).toBeGreaterThan(signed[8]);
  });

  it('overlays on a grey version of the image and checks sizes', () => {
    const base = { data: Uint8Array.from([200, 0, 0]), height: 1, width: 1, channels: 3 as const };
    const heat = colorize([1], 1, 1, 'unsigned');
    const out = overlayHeatmap(base, heat, 0.5);
    const grey = 0.299 * 200;
    expect(out.data[0]).toBe(Math.round(0.5 * grey + 0.5 * heat.data[0]));
    expect(() => overlayHeatmap(base, colorize([1, 1], 1, 2, 'unsigned'))).toThrow(
      /must be RGB and the size/,
    );
  });

  it('draws a colour bar with the largest value on top', () => {
    const bar = colorBar('unsigned', 10, 2);
    expect(bar.height).toBe(10);
    expect(Array.from(bar.data.subarray(bar.data.length - 3))).toEqual([0, 0, 0]);
    expect(bar.data[0]).toBeGreaterThan(200);
  });
});
