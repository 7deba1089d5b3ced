import { describe, expect, it } from 'vitest';
import { AdvkitError } from '../errors.js';
import type { ImageDataset } from './dataset.js';
import { assertSampleHolds } from './sample-guard.js';

function dataset(count: number, sampled: boolean): ImageDataset {
  return {
    name: 'mnist',
    split: 'test',
    height: 1,
    width: 1,
    channels: 1,
    count,
    pixels: new Uint8Array(count),
    labels: new Int32Array(count),
    classNames: ['0', '1'],
    ...(sampled
      ? {
          sample: {
            count,
            fullCount: 10000,
            description: `the first ${count} of the 10,000 MNIST test images`,
            provide: 'put the files in <dir>/mnist/ and set ADVKIT_DATA=<dir>',
          },
        }
      : {}),
  };
}

describe('assertSampleHolds', () => {
  it('passes when the sample holds n images, and for full datasets whatever n', () => {
    expect(() => assertSampleHolds(dataset(1000, true), 1000, '--n 1000')).not.toThrow();
    expect(() => assertSampleHolds(dataset(1000, true), 1, '--n 1')).not.toThrow();
    expect(() => assertSampleHolds(dataset(10, false), 5000, '--n 5000')).not.toThrow();
  });

  it('refuses more than the sample holds, saying only the sample was found and how to get the full files', () => {
    let caught: unknown;
    try {
      assertSampleHolds(dataset(1000, true), 5000, '--n 5000');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AdvkitError);
    expect(caught).toMatchObject({ code: 'NOT_FOUND', details: { requested: 5000, available: 1000 } });
    const message = (caught as Error).message;
    expect(message).toContain('--n 5000 asks for 5000 images');
    expect(message).toContain('only the bundled sample');
    expect(message).toContain('the first 1000 of the 10,000 MNIST test images');
    expect(message).toContain('ADVKIT_DATA=<dir>');
  });
});
