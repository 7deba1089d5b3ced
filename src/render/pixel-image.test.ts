import { describe, expect, it } from 'vitest';
import { AdvkitError } from '../errors.js';
import {
  displaySize,
  imageFromValues,
  perturbationImage,
  resizeImage,
  toRgb,
  type PixelImage,
} from './pixel-image.js';

const gray = (h: number, w: number, values: number[]): PixelImage => ({
  data: Uint8Array.from(values),
  height: h,
  width: w,
  channels: 1,
});

describe('imageFromValues', () => {
  it('maps the bounds linearly onto 0..255, rounding and clamping', () => {
    const img = imageFromValues([0, 0.5, 1, 1.2], [2, 2, 1], [0, 1]);
    expect(Array.from(img.data)).toEqual([0, 128, 255, 255]);
    const wide = imageFromValues([-1, 0, 1], [1, 1, 3], [-1, 1]);
    expect(Array.from(wide.data)).toEqual([0, 128, 255]);
    expect(wide.channels).toBe(3);
  });

  it('rejects shapes it cannot draw', () => {
    expect(() => imageFromValues([0, 0], [1, 1, 2], [0, 1])).toThrow(AdvkitError);
    expect(() => imageFromValues([0, 0, 0], [2, 2, 1], [0, 1])).toThrow(/3 values do not make a 2x2x1 image/);
    expect(() => imageFromValues([0], [1, 1, 1], [1, 1])).toThrow(/bounds/);
  });
});

describe('perturbationImage', () => {
  it('draws adv - clean around mid-gray, amplified, saturating', () => {
    const clean = [0.5, 0.5, 0.5, 0.5];
    const adv = [0.5, 0.5 + 1 / 255, 0.5 - 2 / 255, 1];
    const img = perturbationImage(clean, adv, [1, 4, 1], [0, 1], 10);
    expect(Array.from(img.data)).toEqual([128, 138, 108, 255]);
    const half = perturbationImage([0], [2 / 255], [1, 1, 1], [0, 2], 10);
    expect(half.data[0]).toBe(138);
  });

  it('checks its arguments', () => {
    expect(() => perturbationImage([0, 0], [0], [1, 2, 1], [0, 1])).toThrow(/clean has 2 values/);
    expect(() => perturbationImage([0], [0], [1, 1, 1], [0, 1], 0)).toThrow(/amplify/);
  });
});

describe('toRgb', () => {
  it('repeats gray into three channels and leaves RGB alone', () => {
    const rgb = toRgb(gray(1, 2, [7, 9]));
    expect(Array.from(rgb.data)).toEqual([7, 7, 7, 9, 9, 9]);
    expect(toRgb(rgb)).toBe(rgb);
  });
});

describe('resizeImage', () => {
  it('enlarges with nearest neighbour into crisp blocks', () => {
    const big = resizeImage(gray(2, 2, [1, 2, 3, 4]), 6, 6);
    const row = (y: number): number[] => Array.from(big.data.subarray(y * 6, y * 6 + 6));
    expect(row(0)).toEqual([1, 1, 1, 2, 2, 2]);
    expect(row(2)).toEqual([1, 1, 1, 2, 2, 2]);
    expect(row(5)).toEqual([3, 3, 3, 4, 4, 4]);
  });

  it('shrinks by averaging the covered pixels', () => {
    const small = resizeImage(gray(2, 4, [0, 10, 20, 30, 40, 50, 60, 70]), 1, 2);
    expect(Array.from(small.data)).toEqual([25, 45]);
    const rgb: PixelImage = {
      data: Uint8Array.from([0, 100, 200, 10, 110, 210]),
      height: 1,
      width: 2,
      channels: 3,
    };
    expect(Array.from(resizeImage(rgb, 1, 1).data)).toEqual([5, 105, 205]);
  });

  it('returns the same image at the same size and rejects bad sizes', () => {
    const img = gray(1, 1, [3]);
    expect(resizeImage(img, 1, 1)).toBe(img);
    expect(() => resizeImage(img, 0, 2)).toThrow(/positive integers/);
  });
});

describe('displaySize', () => {
  it('enlarges small inputs by a whole factor, shrinks big ones, keeps the rest', () => {
    expect(displaySize(28, 28, { min: 224, max: 448 })).toEqual([224, 224]);
    expect(displaySize(32, 32, { min: 224, max: 448 })).toEqual([224, 224]);
    expect(displaySize(28, 28, { min: 84, max: 112 })).toEqual([84, 84]);
    expect(displaySize(224, 224, { min: 84, max: 112 })).toEqual([112, 112]);
    expect(displaySize(224, 300, { min: 224, max: 448 })).toEqual([224, 300]);
  });
});
