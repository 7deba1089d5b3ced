import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { PixelImage } from '../pixel-image.js';
import { galleryHtml, pngDataUri, type ReportGalleryItem } from './report-gallery-html.js';

const rgb = (size: number, value: number): PixelImage => ({
  data: new Uint8Array(size * size * 3).fill(value),
  height: size,
  width: size,
  channels: 3,
});

const decode = async (uri: string) =>
  sharp(Buffer.from(uri.replace('data:image/png;base64,', ''), 'base64'))
    .raw()
    .toBuffer({ resolveWithObject: true });

const item = (eps: number, index: number, image: PixelImage): ReportGalleryItem => ({
  index,
  eps,
  attack: null,
  label: 2,
  cleanPrediction: 0,
  adversarialPrediction: 0,
  original: image,
  adversarial: image,
  perturbation: image,
});

describe('report gallery', () => {
  it('encodes RGB images as PNG, shrinking photos to at most 160 px', async () => {
    const small = await decode(await pngDataUri(rgb(32, 200)));
    expect([small.info.width, small.info.channels, small.data[0]]).toEqual([32, 3, 200]);
    const big = await decode(await pngDataUri(rgb(224, 90)));
    expect([big.info.width, big.info.height, big.data[0]]).toEqual([160, 160, 90]);
  });

  it('groups figures by budget in the report order, then any other budget', async () => {
    const report = { eps: [0.3, 0.1], threat_model: 'Linf' as const, class_names: ['zero', 'one', 'two'] };
    const html = await galleryHtml(report, [
      item(0.5, 1, rgb(8, 1)),
      item(0.1, 2, rgb(8, 1)),
      item(0.1, 3, rgb(8, 1)),
    ]);
    const headings = [...html.matchAll(/<h3>([^<]*)<\/h3>/g)].map((m) => m[1]);
    expect(headings).toEqual(['Linf eps 0.1', 'Linf eps 0.5']);
    expect(html).toContain('misclassified without attack');
    expect(html).toContain('true <b>two</b>');
    expect(html).toContain('adversarial → <b class="changed">zero</b>');
    expect(html).toContain('width="96" height="96"'); // 8 px enlarged 12x
  });
});
