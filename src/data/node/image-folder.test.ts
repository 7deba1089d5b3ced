import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { realDataRoot } from '../test-utils/real-data.js';
import { writePng } from './image-file.js';
import { loadImageFolder } from './image-folder.js';
import { scratchDir } from '../test-utils/scratch.js';

/** Writes an h x w grayscale PNG filled with `value`. */
async function grayPng(file: string, value: number, h = 3, w = 3): Promise<void> {
  await writePng(file, new Uint8Array(h * w).fill(value), h, w, 1);
}

describe('loadImageFolder', () => {
  it('reads one subfolder per class, in sorted order', async () => {
    const dir = scratchDir();
    mkdirSync(path.join(dir, 'dog'));
    mkdirSync(path.join(dir, 'cat'));
    await grayPng(path.join(dir, 'dog', 'b.png'), 30);
    await grayPng(path.join(dir, 'dog', 'a.png'), 20);
    await grayPng(path.join(dir, 'cat', 'z.png'), 10);
    writeFileSync(path.join(dir, 'cat', 'README'), 'not an image');
    const ds = await loadImageFolder(dir);
    expect(ds.classNames).toEqual(['cat', 'dog']);
    expect([ds.count, ds.height, ds.width, ds.channels]).toEqual([3, 3, 3, 1]);
    expect(Array.from(ds.labels)).toEqual([0, 1, 1]);
    expect([ds.pixels[0], ds.pixels[9], ds.pixels[18]]).toEqual([10, 20, 30]);
    expect(ds.name).toBe(path.basename(dir));
  });

  it('uses an imagenet_class_index.json-style map with labels in the file names or folder wnids', async () => {
    const dir = scratchDir();
    writeFileSync(
      path.join(dir, 'imagenet_class_index.json'),
      JSON.stringify({ 0: ['n01', 'tench'], 1: ['n02', 'goldfish'], 2: ['n03', 'shark'] }),
    );
    await grayPng(path.join(dir, 'img_00_2.png'), 1);
    mkdirSync(path.join(dir, 'n02'));
    await grayPng(path.join(dir, 'n02', 'x.png'), 2);
    await writePng(path.join(dir, 'img_01_0.png'), new Uint8Array(27).fill(3), 3, 3, 3);
    const ds = await loadImageFolder(dir);
    expect(ds.classNames).toEqual(['tench', 'goldfish', 'shark']);
    expect(ds.channels).toBe(3); // one colour image makes all RGB
    expect(Array.from(ds.labels)).toEqual([2, 0, 1]); // img_00_2, img_01_0, n02/x
  });

  it('uses a csv of file,label rows with a header', async () => {
    const dir = scratchDir();
    await grayPng(path.join(dir, 'a.png'), 1);
    await grayPng(path.join(dir, 'b.png'), 2);
    await grayPng(path.join(dir, 'unlisted.png'), 3);
    writeFileSync(path.join(dir, 'map.csv'), 'file,label\nb.png,cat\na.png,airplane\n');
    const ds = await loadImageFolder(dir, { labelMap: 'map.csv' });
    expect(ds.classNames).toEqual(['airplane', 'cat']);
    expect(ds.count).toBe(2);
    expect(Array.from(ds.labels)).toEqual([0, 1]);
    writeFileSync(path.join(dir, 'bad.csv'), 'c.png,1\n');
    await expect(loadImageFolder(dir, { labelMap: 'bad.csv' })).rejects.toThrow(/missing.*c\.png/);
  });

  it('needs a size when images differ, and resizes to it', async () => {
    const dir = scratchDir();
    mkdirSync(path.join(dir, 'a'));
    await grayPng(path.join(dir, 'a', '1.png'), 5, 3, 3);
    await grayPng(path.join(dir, 'a', '2.png'), 5, 4, 6);
    await expect(loadImageFolder(dir)).rejects.toThrow(/differ in size.*pass a size/);
    const ds = await loadImageFolder(dir, { size: [2, 2], channels: 3 });
    expect([ds.count, ds.height, ds.width, ds.channels]).toEqual([2, 2, 2, 3]);
  });

  it('explains what it expects from an unlabelled folder', async () => {
    const dir = scratchDir();
    await grayPng(path.join(dir, 'loose.png'), 1);
    await expect(loadImageFolder(dir)).rejects.toThrow(/one subfolder of images per class.*loose\.png/);
    await expect(loadImageFolder(path.join(dir, 'nope'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('loads the real ImageNet samples with imagenet_class_index.json', async () => {
    const root = path.join(realDataRoot(), 'imagenet-samples');
    const ds = await loadImageFolder(path.join(root, 'foolbox'), {
      labelMap: path.join(root, 'imagenet_class_index.json'),
      size: [64, 64],
    });
    expect([ds.count, ds.height, ds.width, ds.channels]).toEqual([20, 64, 64, 3]);
    expect(ds.classNames.length).toBe(1000);
    expect(Array.from(ds.labels.subarray(0, 3))).toEqual([243, 559, 438]);
    expect(ds.classNames[243]).toBe('bull_mastiff');
  });
});
