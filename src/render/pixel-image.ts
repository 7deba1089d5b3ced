import { invalidArgument } from '../errors.js';

/**
 * 8-bit pictures for figures: HWC bytes, grayscale or RGB. Pure functions over typed arrays (browser-safe),
 * so the CLI's PNGs and a page's canvas can show the same thing.
 */
export interface PixelImage {
  data: Uint8Array;
  height: number;
  width: number;
  channels: 1 | 3;
}

function checkShape(length: number, [h, w, c]: readonly [number, number, number], what: string): 1 | 3 {
  if (c !== 1 && c !== 3)
    throw invalidArgument(`${what}: images need 1 or 3 channels to be drawn, got ${c}.`);
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0) || length !== h * w * c) {
    throw invalidArgument(`${what}: ${length} values do not make a ${h}x${w}x${c} image.`);
  }
  return c;
}

function checkBounds([lo, hi]: readonly [number, number]): number {
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) {
    throw invalidArgument(`bounds must be [min, max] with min < max, got [${lo}, ${hi}].`);
  }
  return hi - lo;
}

const toByte = (v: number): number => Math.min(255, Math.max(0, Math.round(v)));

/** An image from model-space values (HWC within `bounds`), mapped linearly to 0..255. */
export function imageFromValues(
  values: ArrayLike<number>,
  shape: readonly [number, number, number],
  bounds: readonly [number, number],
): PixelImage {
  const channels = checkShape(values.length, shape, 'imageFromValues');
  const range = checkBounds(bounds);
  const data = new Uint8Array(values.length);
  for (let i = 0; i < data.length; i++) data[i] = toByte(((values[i] - bounds[0]) / range) * 255);
  return { data, height: shape[0], width: shape[1], channels };
}

/**
 * The perturbation adv - clean drawn around mid-gray (128 = unchanged), amplified `amplify` times so that a
 * budget of a few 1/255 steps is visible; values beyond the byte range saturate.
 */
export function perturbationImage(
  clean: ArrayLike<number>,
  adversarial: ArrayLike<number>,
  shape: readonly [number, number, number],
  bounds: readonly [number, number],
  amplify = 10,
): PixelImage {
  const channels = checkShape(clean.length, shape, 'perturbationImage');
  if (adversarial.length !== clean.length) {
    throw invalidArgument(
      `perturbationImage: clean has ${clean.length} values, adversarial ${adversarial.length}.`,
    );
  }
  if (!(Number.isFinite(amplify) && amplify > 0)) {
    throw invalidArgument(`amplify must be a number > 0, got ${amplify}.`);
  }
  const scale = (amplify * 255) / checkBounds(bounds);
  const data = new Uint8Array(clean.length);
  for (let i = 0; i < data.length; i++) data[i] = toByte(128 + (adversarial[i] - clean[i]) * scale);
  return { data, height: shape[0], width: shape[1], channels };
}

/** The same image with 3 channels (gray repeated). */
export function toRgb(img: PixelImage): PixelImage {
  if (img.channels === 3) return img;
  const data = new Uint8Array(img.data.length * 3);
  for (let i = 0; i < img.data.length; i++) data.fill(img.data[i], i * 3, i * 3 + 3);
  return { data, height: img.height, width: img.width, channels: 3 };
}

/**
 * Resized to height x width: nearest neighbour when enlarging (so MNIST pixels stay crisp squares), the mean
 * of the covered source pixels when shrinking (a box filter, no aliasing on photos).
 */
export function resizeImage(img: PixelImage, height: number, width: number): PixelImage {
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
    throw invalidArgument(`resizeImage: size must be positive integers, got ${height}x${width}.`);
  }
  if (height === img.height && width === img.width) return img;
  const c = img.channels;
  const data = new Uint8Array(height * width * c);
  const sy = img.height / height;
  const sx = img.width / width;
  const span = (i: number, s: number, size: number): [number, number] => {
    const from = Math.min(size - 1, Math.floor(i * s));
    return [from, Math.max(from + 1, Math.min(size, Math.floor((i + 1) * s)))];
  };
  for (let y = 0; y < height; y++) {
    const [y0, y1] = span(y, sy, img.height);
    for (let x = 0; x < width; x++) {
      const [x0, x1] = span(x, sx, img.width);
      const count = (y1 - y0) * (x1 - x0);
      for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let yy = y0; yy < y1; yy++) {
          for (let xx = x0; xx < x1; xx++) sum += img.data[(yy * img.width + xx) * c + k];
        }
        data[(y * width + x) * c + k] = Math.round(sum / count);
      }
    }
  }
  return { data, height, width, channels: c };
}

/**
 * Display size for an image: small images are enlarged by a whole factor until their longer side reaches
 * `min` (28x28 MNIST -> 224x224 for min 224), large ones shrunk to fit `max`; others keep their size.
 */
export function displaySize(
  height: number,
  width: number,
  { min, max }: { min: number; max: number },
): [number, number] {
  const side = Math.max(height, width);
  if (side < min) {
    const factor = Math.ceil(min / side);
    return [height * factor, width * factor];
  }
  if (side > max) {
    const scale = max / side;
    return [Math.max(1, Math.round(height * scale)), Math.max(1, Math.round(width * scale))];
  }
  return [height, width];
}
