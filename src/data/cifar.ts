/**
 * CIFAR-10 binary batches (https://www.cs.toronto.edu/~kriz/cifar.html, "binary version"): records of 1 label
 * byte followed by 32x32 red, then green, then blue bytes (each plane row-major). Converted here to NHWC.
 */
import { AdvkitError } from '../errors.js';
import { rejectGzip } from './bytes.js';
import { CIFAR10_CLASSES } from './class-names.js';

export const CIFAR_SIDE = 32;
const PLANE = CIFAR_SIDE * CIFAR_SIDE;
export const CIFAR_RECORD_BYTES = 1 + 3 * PLANE;

function corrupt(file: string, message: string): AdvkitError {
  return new AdvkitError('CORRUPT_DATA', `${file}: ${message}`, { file });
}

/** Decodes a whole batch file (any number of records, e.g. 10,000 in an original batch). */
export function parseCifarBatch(
  bytes: Uint8Array,
  file: string,
): { count: number; pixels: Uint8Array; labels: Int32Array } {
  rejectGzip(bytes, file, 'CIFAR-10 binary');
  if (bytes.length === 0 || bytes.length % CIFAR_RECORD_BYTES !== 0) {
    throw corrupt(
      file,
      `is ${bytes.length} bytes, not a whole number of ${CIFAR_RECORD_BYTES}-byte CIFAR-10 records (1 label + 3072 pixels); the file is truncated or not a CIFAR-10 binary batch.`,
    );
  }
  const count = bytes.length / CIFAR_RECORD_BYTES;
  const pixels = new Uint8Array(count * 3 * PLANE);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const rec = n * CIFAR_RECORD_BYTES;
    const label = bytes[rec];
    if (label >= CIFAR10_CLASSES.length) {
      throw corrupt(
        file,
        `record ${n} has label ${label}; expected 0..9. Not a CIFAR-10 binary batch (CIFAR-100 has 2 label bytes).`,
      );
    }
    labels[n] = label;
    const out = n * 3 * PLANE;
    for (let p = 0; p < PLANE; p++) {
      pixels[out + 3 * p] = bytes[rec + 1 + p];
      pixels[out + 3 * p + 1] = bytes[rec + 1 + PLANE + p];
      pixels[out + 3 * p + 2] = bytes[rec + 1 + 2 * PLANE + p];
    }
  }
  return { count, pixels, labels };
}

/**
 * Checks a file of bare test labels (one byte each, no header) against the labels inside a partial test batch:
 * the batch must hold the first records of the test set, so its labels must equal the first ones of the file.
 */
export function checkPartialTestLabels(
  batchLabels: Int32Array,
  batchFile: string,
  allLabels: Uint8Array,
  labelsFile: string,
): void {
  if (allLabels.length < batchLabels.length) {
    throw corrupt(
      labelsFile,
      `holds ${allLabels.length} labels, fewer than the ${batchLabels.length} images of ${batchFile}.`,
    );
  }
  const bad = allLabels.findIndex((l) => l >= CIFAR10_CLASSES.length);
  if (bad >= 0) throw corrupt(labelsFile, `label ${allLabels[bad]} at index ${bad} is outside 0..9.`);
  for (let i = 0; i < batchLabels.length; i++) {
    if (allLabels[i] !== batchLabels[i]) {
      throw new AdvkitError(
        'CORRUPT_DATA',
        `${batchFile} and ${labelsFile} disagree at test image ${i} (label ${batchLabels[i]} vs ${allLabels[i]}); expected the batch to hold the first test images in order.`,
        { file: batchFile },
      );
    }
  }
}
