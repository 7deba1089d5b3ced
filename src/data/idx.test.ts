import { describe, expect, it } from 'vitest';
import { AdvkitError } from '../errors.js';
import { idxDataset, parseIdxImages, parseIdxLabels } from './idx.js';
import { idxBytes } from './test-utils/synthetic.js';

function expectCorrupt(fn: () => unknown, ...fragments: string[]): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AdvkitError);
    expect((err as AdvkitError).code).toBe('CORRUPT_DATA');
    for (const f of fragments) expect((err as AdvkitError).message).toContain(f);
    return;
  }
  throw new Error('expected a CORRUPT_DATA error');
}

const images = idxBytes(2051, [2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
const labels = idxBytes(2049, [2], [7, 1]);
const pair = { name: 'x', split: 'test', classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] };

describe('IDX parser', () => {
  it('reads images and labels', () => {
    const im = parseIdxImages(images, 'im');
    expect([im.count, im.height, im.width]).toEqual([2, 2, 3]);
    expect(Array.from(im.pixels)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(Array.from(parseIdxLabels(labels, 'lb'))).toEqual([7, 1]);
    const ds = idxDataset({ ...pair, images, imagesFile: 'im', labels, labelsFile: 'lb' });
    expect([ds.count, ds.height, ds.width, ds.channels]).toEqual([2, 2, 3, 1]);
    expect(Array.from(ds.labels)).toEqual([7, 1]);
  });

  it('rejects truncated files, naming the file', () => {
    expectCorrupt(
      () => parseIdxImages(images.subarray(0, images.length - 1), 'cut.idx'),
      'cut.idx',
      'truncated',
    );
    expectCorrupt(() => parseIdxImages(images.subarray(0, 10), 'hdr.idx'), 'hdr.idx', 'header');
    expectCorrupt(() => parseIdxLabels(new Uint8Array(0), 'empty.idx'), 'empty.idx');
  });

  it('rejects trailing bytes', () => {
    const long = new Uint8Array(labels.length + 3);
    long.set(labels);
    expectCorrupt(() => parseIdxLabels(long, 'long.idx'), 'longer');
  });

  it('rejects wrong magic numbers, saying which was expected', () => {
    expectCorrupt(() => parseIdxImages(labels, 'labels-as-images'), '2049', 'expected 2051');
    expectCorrupt(() => parseIdxLabels(images, 'images-as-labels'), '2051', 'expected 2049');
    expectCorrupt(() => parseIdxLabels(idxBytes(0x12345678, [], []), 'junk'), 'wrong magic');
  });

  it('rejects gzip bytes given to the parser', () => {
    expectCorrupt(() => parseIdxImages(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0]), 'x.gz'), 'gzip');
  });

  it('rejects an image/label count mismatch and out-of-range labels', () => {
    const three = idxBytes(2049, [3], [1, 2, 3]);
    expectCorrupt(
      () => idxDataset({ ...pair, images, imagesFile: 'im', labels: three, labelsFile: 'lb3' }),
      '2 images',
      '3 labels',
    );
    const big = idxBytes(2049, [2], [1, 12]);
    expectCorrupt(
      () => idxDataset({ ...pair, images, imagesFile: 'im', labels: big, labelsFile: 'lb' }),
      'label 12',
    );
  });
});
