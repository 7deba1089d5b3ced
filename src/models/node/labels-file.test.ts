import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findLabelsFile, readLabelsFile } from './labels-file.js';

let root: string;

describe('labels files', () => {
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'advkit-labels-'));
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('names WordNet ids from an explicit class index, else from $ADVKIT_DATA/imagenet-samples', async () => {
    const labels = path.join(root, 'wnids.txt');
    await fs.writeFile(labels, 'n02123045\nn01440764\n');
    const index = path.join(root, 'elsewhere', 'idx.json');
    await fs.mkdir(path.dirname(index));
    await fs.writeFile(index, JSON.stringify({ '0': ['n01440764', 'tench'], '1': ['n02123045', 'tabby'] }));
    expect(await readLabelsFile(labels, { wnidNames: index })).toEqual(['tabby', 'tench']);

    const saved = process.env.ADVKIT_DATA;
    try {
      process.env.ADVKIT_DATA = path.join(root, 'data');
      expect(await readLabelsFile(labels)).toEqual(['n02123045', 'n01440764']);
      await fs.mkdir(path.join(root, 'data', 'imagenet-samples'), { recursive: true });
      await fs.copyFile(index, path.join(root, 'data', 'imagenet-samples', 'imagenet_class_index.json'));
      expect(await readLabelsFile(labels)).toEqual(['tabby', 'tench']);
    } finally {
      if (saved === undefined) delete process.env.ADVKIT_DATA;
      else process.env.ADVKIT_DATA = saved;
    }
    await expect(readLabelsFile(labels, { wnidNames: path.join(root, 'none.json') })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/none.json/),
    });
    await expect(readLabelsFile(path.join(root, 'absent.txt'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('finds labels.txt first, else a single *labels* file, and refuses to guess between several', async () => {
    const dir = path.join(root, 'model');
    await fs.mkdir(dir);
    expect(await findLabelsFile(dir)).toBeUndefined();
    await fs.writeFile(path.join(dir, 'imagenet.labels.darknet-order.txt'), 'a\nb\n');
    expect(await findLabelsFile(dir)).toBe(path.join(dir, 'imagenet.labels.darknet-order.txt'));
    await fs.writeFile(path.join(dir, 'other-labels.json'), '["a", "b"]');
    await expect(findLabelsFile(dir)).rejects.toThrow(/several labels files/);
    await fs.writeFile(path.join(dir, 'labels.txt'), 'a\nb\n');
    expect(await findLabelsFile(dir)).toBe(path.join(dir, 'labels.txt'));
  });
});
