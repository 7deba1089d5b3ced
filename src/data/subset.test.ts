import { describe, expect, it } from 'vitest';
import { AdvkitError } from '../errors.js';
import { subset } from './subset.js';
import { tinyDataset } from './test-utils/synthetic.js';

describe('subset', () => {
  const ds = tinyDataset(30, 3); // labels 0,1,2,0,1,2,...

  it('keeps classes by name or index, relabelled in the given order', () => {
    const bin = subset(ds, { classes: ['c2', 0], relabel: true });
    expect(bin.count).toBe(20);
    expect(bin.classNames).toEqual(['c2', 'c0']);
    // original order kept: image 0 (c0 -> 1), image 2 (c2 -> 0), image 3 (c0 -> 1), ...
    expect(Array.from(bin.labels.subarray(0, 4))).toEqual([1, 0, 1, 0]);
    expect(bin.pixels[4]).toBe(2); // second kept image is original image 2
    expect(bin.notes?.at(-1)).toContain('classes c2, c0 (relabelled 0..1)');
  });

  it('keeps original labels without relabel', () => {
    const s = subset(ds, { classes: [1] });
    expect(s.classNames).toEqual(ds.classNames);
    expect(new Set(s.labels)).toEqual(new Set([1]));
  });

  it('takes the first n per class, or a seeded random choice', () => {
    const first = subset(ds, { perClass: 2 });
    expect(first.count).toBe(6);
    expect(Array.from(first.pixels.filter((_, i) => i % 4 === 0))).toEqual([0, 1, 2, 3, 4, 5]);
    const r1 = subset(ds, { perClass: 2, seed: 3 });
    const r2 = subset(ds, { perClass: 2, seed: 3 });
    expect(r1.pixels).toEqual(r2.pixels);
    expect(Array.from(r1.labels).sort()).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it('takes a count, seeded, without repeats', () => {
    const a = subset(ds, { count: 10, seed: 1 });
    const b = subset(ds, { count: 10, seed: 2 });
    expect(a.count).toBe(10);
    expect(a.pixels).not.toEqual(b.pixels);
    const values = Array.from(a.pixels.filter((_, i) => i % 4 === 0));
    expect(new Set(values).size).toBe(10);
    expect(values).toEqual([...values].sort((x, y) => x - y));
    expect(subset(ds, { count: 10, seed: 1 }).pixels).toEqual(a.pixels);
  });

  it('refuses to return fewer images than asked, and unknown classes', () => {
    expect(() => subset(ds, { count: 31 })).toThrow(/count 31/);
    expect(() => subset(ds, { perClass: 11 })).toThrow(/perClass 11/);
    expect(() => subset(ds, { classes: ['dog'] })).toThrow(AdvkitError);
    expect(() => subset(ds, { classes: [5] })).toThrow(/c0, c1, c2/);
    expect(() => subset(ds, { relabel: true })).toThrow(/classes/);
    expect(() => subset(ds, { classes: [0, 'c0'] })).toThrow(/twice/);
  });
});
