import { existsSync } from 'node:fs';
import sharp from 'sharp';
import { AdvkitError, invalidArgument } from '../../errors.js';
import { writeAtomically } from './atomic-write.js';

export interface ReadImageOptions {
  /** [height, width] to resize to; default: the file's own size. */
  size?: [number, number];
  /** 1 (grayscale) or 3 (RGB); default: 1 for grayscale files, else 3. Alpha is always dropped. */
  channels?: 1 | 3;
  /**
   * How to resize to a different aspect ratio: 'cover' (default) scales and crops the centre, keeping proportions;
   * 'fill' stretches; 'contain' scales and pads with black.
   */
  fit?: 'cover' | 'fill' | 'contain';
}

export interface DecodedImage {
  /** HWC, 0..255. */
  pixels: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

function checkSize(size: [number, number] | undefined): void {
  if (size === undefined) return;
  if (size.length !== 2 || !size.every((s) => Number.isInteger(s) && s > 0)) {
    throw invalidArgument(`size must be [height, width] with positive integers, got [${size.join(', ')}].`);
  }
}

/** Decodes PNG, JPEG, WebP, GIF, TIFF or AVIF with sharp into uint8 HWC pixels. */
export async function readImageFile(file: string, opts: ReadImageOptions = {}): Promise<DecodedImage> {
  checkSize(opts.size);
  if (opts.channels !== undefined && opts.channels !== 1 && opts.channels !== 3) {
    throw invalidArgument(`channels must be 1 or 3, got ${opts.channels}.`);
  }
  if (!existsSync(file)) throw new AdvkitError('NOT_FOUND', `Image file ${file} does not exist.`, { file });
  try {
    const image = sharp(file);
    const meta = await image.metadata();
    const own = (meta.channels ?? 3) - (meta.hasAlpha ? 1 : 0);
    const channels = opts.channels ?? (own === 1 ? 1 : 3);
    let pipeline = image.removeAlpha();
    if (opts.size !== undefined) {
      const [height, width] = opts.size;
      pipeline = pipeline.resize({
        width,
        height,
        fit: opts.fit ?? 'cover',
        background: { r: 0, g: 0, b: 0 },
      });
    }
    pipeline = pipeline.toColourspace(channels === 1 ? 'b-w' : 'srgb');
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== channels) {
      throw new AdvkitError(
        'INTERNAL',
        `Decoding ${file} gave ${info.channels} channels; expected ${channels}.`,
      );
    }
    return {
      pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      height: info.height,
      width: info.width,
      channels,
    };
  } catch (err) {
    if (err instanceof AdvkitError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new AdvkitError(
      'CORRUPT_DATA',
      `Cannot decode image ${file}: ${reason}. Expected a PNG, JPEG, WebP, GIF, TIFF or AVIF file.`,
      {
        file,
      },
    );
  }
}

/** Writes uint8 HWC pixels (1, 3 or 4 channels) as a PNG, atomically (temporary file + rename). */
export async function writePng(
  file: string,
  pixels: Uint8Array,
  height: number,
  width: number,
  channels: number,
): Promise<void> {
  if (![1, 3, 4].includes(channels))
    throw invalidArgument(`channels must be 1, 3 or 4 to write a PNG, got ${channels}.`);
  checkSize([height, width]);
  if (pixels.length !== height * width * channels) {
    throw invalidArgument(
      `pixels has ${pixels.length} values; expected ${height}x${width}x${channels} = ${height * width * channels} for ${file}.`,
    );
  }
  const raw = { width, height, channels: channels as 1 | 3 | 4 };
  await writeAtomically(file, async (tmp) => {
    // Without the explicit colour space sharp writes one-channel data as an RGB PNG.
    const image = sharp(pixels, { raw });
    await (channels === 1 ? image.toColourspace('b-w') : image).png().toFile(tmp);
  });
}
