/**
 * IDX files (the MNIST and Fashion-MNIST format, http://yann.lecun.com/exdb/mnist/): a big-endian header
 * 0x00 0x00 <type> <ndims>, then ndims uint32 dimension sizes, then the data. advkit reads unsigned-byte data
 * (type 0x08): images have magic 2051 (3 dims), labels 2049 (1 dim).
 */
import { AdvkitError } from '../errors.js';
import { rejectGzip } from './bytes.js';
import type { ImageDataset } from './dataset.js';

export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;

function corrupt(file: string, message: string): AdvkitError {
  return new AdvkitError('CORRUPT_DATA', `${file}: ${message}`, { file });
}

/** Dimensions and data of an unsigned-byte IDX file, checked against the expected magic number. */
function parseIdx(bytes: Uint8Array, file: string, magic: number): { dims: number[]; data: Uint8Array } {
  const ndims = magic & 0xff;
  const kind = magic === IDX_IMAGES_MAGIC ? 'IDX images' : 'IDX labels';
  rejectGzip(bytes, file, kind);
  if (bytes.length < 4) {
    throw corrupt(
      file,
      `is ${bytes.length} bytes, too short for an IDX magic number; the file is truncated.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0, false);
  if (found !== magic) {
    const hint =
      found === IDX_IMAGES_MAGIC ? ' (an images file)' : found === IDX_LABELS_MAGIC ? ' (a labels file)' : '';
    throw corrupt(
      file,
      `wrong magic number ${found}${hint}; expected ${magic} (${kind}, unsigned bytes, ${ndims} dims).`,
    );
  }
  const headerSize = 4 + 4 * ndims;
  if (bytes.length < headerSize) {
    throw corrupt(
      file,
      `is ${bytes.length} bytes, too short for an ${kind} header (${headerSize} bytes); the file is truncated.`,
    );
  }
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const expected = headerSize + dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated' : 'longer than its header says';
    throw corrupt(
      file,
      `is ${bytes.length} bytes but its header (${dims.join('x')}) needs ${expected}; the file is ${what}.`,
    );
  }
  return { dims, data: bytes.subarray(headerSize) };
}

export function parseIdxImages(
  bytes: Uint8Array,
  file: string,
): { count: number; height: number; width: number; pixels: Uint8Array } {
  const { dims, data } = parseIdx(bytes, file, IDX_IMAGES_MAGIC);
  const [count, height, width] = dims;
  return { count, height, width, pixels: data };
}

export function parseIdxLabels(bytes: Uint8Array, file: string): Int32Array {
  return Int32Array.from(parseIdx(bytes, file, IDX_LABELS_MAGIC).data);
}

export interface IdxPair {
  name: string;
  split: string;
  classNames: string[];
  images: Uint8Array;
  imagesFile: string;
  labels: Uint8Array;
  labelsFile: string;
}

/** An IDX images file and its labels file as one dataset, after checking that they belong together. */
export function idxDataset(pair: IdxPair): ImageDataset {
  const images = parseIdxImages(pair.images, pair.imagesFile);
  const labels = parseIdxLabels(pair.labels, pair.labelsFile);
  if (labels.length !== images.count) {
    throw new AdvkitError(
      'CORRUPT_DATA',
      `${pair.imagesFile} holds ${images.count} images but ${pair.labelsFile} holds ${labels.length} labels; expected the same count.`,
      { file: pair.labelsFile },
    );
  }
  const k = pair.classNames.length;
  const bad = labels.findIndex((l) => l >= k);
  if (bad >= 0) {
    throw new AdvkitError(
      'CORRUPT_DATA',
      `${pair.labelsFile}: label ${labels[bad]} at index ${bad} is outside 0..${k - 1}.`,
      { file: pair.labelsFile },
    );
  }
  return {
    name: pair.name,
    split: pair.split,
    height: images.height,
    width: images.width,
    channels: 1,
    count: images.count,
    pixels: images.pixels,
    labels,
    classNames: [...pair.classNames],
  };
}
