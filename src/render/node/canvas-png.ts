import sharp from 'sharp';
import { invalidArgument } from '../../errors.js';
import { toRgb, type PixelImage } from '../pixel-image.js';
import { svgText, type TextItem } from '../svg-text.js';

/** A rectangle on a canvas, in pixels. */
export interface FigureBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface PlacedImage {
  /** Drawn pixel for pixel (resize it first). */
  image: PixelImage;
  left: number;
  top: number;
}

export interface CanvasSpec {
  width: number;
  height: number;
  images: readonly PlacedImage[];
  texts: readonly TextItem[];
  /** RGB background, default white. */
  background?: readonly [number, number, number];
}

/**
 * An RGB PNG of the canvas: images pasted in JavaScript (exact pixels), then the text drawn in one SVG
 * overlay with sharp. Returns the encoded bytes; the caller writes them (atomically).
 */
export async function renderCanvasPng(spec: CanvasSpec): Promise<Buffer> {
  const { width, height } = spec;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw invalidArgument(`canvas size must be positive integers, got ${width}x${height}.`);
  }
  const pixels = new Uint8Array(width * height * 3);
  const [r, g, b] = spec.background ?? [255, 255, 255];
  for (let i = 0; i < pixels.length; i += 3) pixels.set([r, g, b], i);
  for (const placed of spec.images) paste(pixels, width, height, placed);
  const overlay = Buffer.from(svgText(width, height, spec.texts));
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .composite([{ input: overlay, left: 0, top: 0 }])
    .png()
    .toBuffer();
}

function paste(canvas: Uint8Array, width: number, height: number, { image, left, top }: PlacedImage): void {
  const rgb = toRgb(image);
  const x0 = Math.round(left);
  const y0 = Math.round(top);
  if (x0 < 0 || y0 < 0 || x0 + rgb.width > width || y0 + rgb.height > height) {
    throw invalidArgument(
      `An image of ${rgb.width}x${rgb.height} at (${x0}, ${y0}) does not fit a ${width}x${height} canvas.`,
    );
  }
  const rowBytes = rgb.width * 3;
  for (let y = 0; y < rgb.height; y++) {
    const src = y * rowBytes;
    canvas.set(rgb.data.subarray(src, src + rowBytes), ((y0 + y) * width + x0) * 3);
  }
}
