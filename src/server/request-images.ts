import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { AdvkitError, invalidArgument } from '../errors.js';
import { HttpError } from './http-errors.js';

/** An image a client sent, as bytes, with the name it gave (a multipart file name, or `images[i]`). */
export interface UploadedImage {
  name: string;
  bytes: Buffer;
}

const FORMATS = new Set(['png', 'jpeg', 'webp', 'gif', 'tiff', 'avif']);
const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}$/;

/** `data:image/png;base64,...` or plain base64 as bytes; anything else is refused with what was expected. */
export function decodeBase64Image(text: unknown, name: string): UploadedImage {
  if (typeof text !== 'string') {
    throw invalidArgument(`${name} must be a base64 string of an image file, got ${typeof text}.`, {
      option: 'images',
    });
  }
  const body = text.startsWith('data:') ? text.slice(text.indexOf(',') + 1) : text;
  if (body.length === 0 || !BASE64.test(body)) {
    throw invalidArgument(
      `${name} is not base64: expected an image file (PNG, JPEG, WebP, ...) encoded as base64 or a data: URI.`,
      { option: 'images' },
    );
  }
  return { name, bytes: Buffer.from(body, 'base64') };
}

/**
 * Checks an uploaded image from its header alone, before anything decodes its pixels: a known format, and at
 * most `maxPixels` pixels (a 20,000 x 20,000 PNG of a few kilobytes would need 1.2 GB to decode: a decompression
 * bomb is refused here with 413, not decoded). Its pixels are decoded later, on a compute thread, by the task.
 */
export async function checkImageHeader(image: UploadedImage, maxPixels: number): Promise<string> {
  let meta: Metadata;
  try {
    // metadata() reads the header only; the size check below names the image and the limit.
    meta = await sharp(image.bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new AdvkitError(
      'CORRUPT_DATA',
      `${image.name} is not a readable image (${reason}); expected a PNG, JPEG, WebP, GIF, TIFF or AVIF file.`,
    );
  }
  if (meta.format === undefined || !FORMATS.has(meta.format)) {
    throw new AdvkitError(
      'CORRUPT_DATA',
      `${image.name} is ${meta.format ?? 'of an unknown format'}; expected a PNG, JPEG, WebP, GIF, TIFF or AVIF file.`,
    );
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width <= 0 || height <= 0) {
    throw new AdvkitError('CORRUPT_DATA', `${image.name} has no pixels (${width} x ${height}).`);
  }
  if (width * height > maxPixels) {
    throw new HttpError(
      413,
      'IMAGE_TOO_LARGE',
      `${image.name} is ${width} x ${height} = ${width * height} pixels; the server decodes at most ${maxPixels} ` +
        'pixels per image (its --max-pixels). Send a smaller image: it is resized to the model input anyway.',
    );
  }
  return meta.format === 'jpeg' ? 'jpg' : meta.format;
}

/**
 * The images of one request as files in a private temporary folder, for a task's `images` field: each checked
 * by its header first. `dispose` removes the folder; the caller calls it when the task is done.
 */
export async function stageImages(
  images: readonly UploadedImage[],
  maxPixels: number,
): Promise<{ files: string[]; names: string[]; dispose: () => Promise<void> }> {
  const extensions: string[] = [];
  for (const image of images) extensions.push(await checkImageHeader(image, maxPixels));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'advkit-serve-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const files = await Promise.all(
      images.map(async (image, i) => {
        const file = path.join(dir, `${i}.${extensions[i]}`);
        await writeFile(file, image.bytes, { mode: 0o600 });
        return file;
      }),
    );
    return { files, names: images.map((im) => im.name), dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
