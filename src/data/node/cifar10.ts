import { rm } from 'node:fs/promises';
import path from 'node:path';
import { AdvkitError } from '../../errors.js';
import { checkPartialTestLabels, CIFAR_SIDE, parseCifarBatch } from '../cifar.js';
import { CIFAR10_CLASSES } from '../class-names.js';
import type { DatasetSample, ImageDataset } from '../dataset.js';
import { bundledSample, describeSample, sampleNote } from './bundled-samples.js';
import { downloadFile } from './download.js';
import type { Layout } from './locate.js';
import { locateDataset } from './locate-dataset.js';
import type { SourceOptions } from './mnist.js';
import { readDataFile } from './read-data-file.js';
import { CIFAR10_ARCHIVE, CIFAR10_ARCHIVE_DIR, CIFAR10_BATCH_SHA256 } from './sources.js';
import { unpackTarMembers } from './unpack-tar.js';

export interface Cifar10Options extends SourceOptions {
  split: 'train' | 'test';
}

const BATCH_COUNT = 10_000;
const TEST_COUNT = 10_000;
const TRAIN_LAYOUT: Layout = { files: [1, 2, 3, 4, 5].map((i) => [`data_batch_${i}.bin`]) };
const TEST_LAYOUTS: Layout[] = [
  { files: [['test_batch.bin']] },
  // The first test images plus all test labels: what ../shared/datasets holds (see its README).
  { files: [['test_batch.first1000.bin'], ['test_batch.labels.bin']], partial: true },
];

/** Downloads the official archive and unpacks its batch files (each checked against its published sha256). */
async function fetchCifar10(datasetDir: string, opts: SourceOptions): Promise<void> {
  const archive = path.join(datasetDir, path.basename(CIFAR10_ARCHIVE.url));
  await downloadFile(CIFAR10_ARCHIVE, archive, opts);
  try {
    await unpackTarMembers(archive, path.join(datasetDir, CIFAR10_ARCHIVE_DIR), {
      ...CIFAR10_BATCH_SHA256,
      'batches.meta.txt': undefined,
    });
  } finally {
    await rm(archive, { force: true });
  }
}

function dataset(
  split: string,
  count: number,
  pixels: Uint8Array,
  labels: Int32Array,
  notes?: string[],
  sample?: DatasetSample,
): ImageDataset {
  return {
    name: 'cifar10',
    split,
    height: CIFAR_SIDE,
    width: CIFAR_SIDE,
    channels: 3,
    count,
    pixels,
    labels,
    classNames: [...CIFAR10_CLASSES],
    ...(notes ? { notes } : {}),
    ...(sample ? { sample } : {}),
  };
}

/** Every original batch file (5 train, 1 test) holds 10,000 images; fewer means a cut file. */
function checkCount(count: number, file: string): void {
  if (count !== BATCH_COUNT) {
    throw new AdvkitError(
      'CORRUPT_DATA',
      `${file}: holds ${count} images; expected ${BATCH_COUNT}. The file is truncated.`,
      { file },
    );
  }
}

/** Decodes one batch at a time into the final arrays, so at most one batch's copy is alive besides them. */
async function loadTrain(files: string[]): Promise<ImageDataset> {
  const imageBytes = CIFAR_SIDE * CIFAR_SIDE * 3;
  const count = files.length * BATCH_COUNT;
  const pixels = new Uint8Array(count * imageBytes);
  const labels = new Int32Array(count);
  for (const [i, file] of files.entries()) {
    const batch = parseCifarBatch(await readDataFile(file), file);
    checkCount(batch.count, file);
    pixels.set(batch.pixels, i * BATCH_COUNT * imageBytes);
    labels.set(batch.labels, i * BATCH_COUNT);
  }
  return dataset('train', count, pixels, labels);
}

async function loadPartialTest(batchFile: string, labelsFile: string): Promise<ImageDataset> {
  const batch = parseCifarBatch(await readDataFile(batchFile), batchFile);
  const allLabels = await readDataFile(labelsFile);
  if (allLabels.length !== TEST_COUNT) {
    throw new AdvkitError(
      'CORRUPT_DATA',
      `${labelsFile}: holds ${allLabels.length} bytes; expected ${TEST_COUNT} test labels, one byte each.`,
      { file: labelsFile },
    );
  }
  checkPartialTestLabels(batch.labels, batchFile, allLabels, labelsFile);
  const note =
    `partial test set: ${batch.count} of the ${TEST_COUNT} CIFAR-10 test images (the first ones, in order, ` +
    `from ${path.basename(batchFile)}); accuracy on it is not comparable with full-test-set numbers`;
  return dataset('test', batch.count, batch.pixels, batch.labels, [note]);
}

/**
 * CIFAR-10 from its binary batches (gzipped or raw): 32x32x3. The test split may be partial (first N images plus
 * the labels file), in which case `count` is N and `notes` says so; with no test files anywhere, the bundled sample
 * (the first 200 test images) is returned, with `sample` and a note saying so.
 */
export async function loadCifar10(opts: Cifar10Options): Promise<ImageDataset> {
  const train = opts.split === 'train';
  const located = await locateDataset({
    title: `CIFAR-10 ${opts.split} split`,
    dirName: 'cifar10',
    subdirs: [CIFAR10_ARCHIVE_DIR],
    layouts: train ? [TRAIN_LAYOUT] : TEST_LAYOUTS,
    dir: opts.dir,
    download: opts.download,
    sample: train ? undefined : bundledSample('cifar10'),
    hint: train
      ? 'advkit bundles a sample of the CIFAR-10 test split only; the train split needs the full files.'
      : undefined,
    urls: [CIFAR10_ARCHIVE.url],
    fetchInto: (datasetDir) => fetchCifar10(datasetDir, opts),
  });
  if (train) return loadTrain(located.files);
  if (located.sample !== undefined) {
    const batch = parseCifarBatch(await readDataFile(located.files[0]), located.files[0]);
    const sample = describeSample(located.sample.source, batch.count, located.sample.provide);
    return dataset('test', batch.count, batch.pixels, batch.labels, [sampleNote(sample)], sample);
  }
  if (located.layout.partial) return loadPartialTest(located.files[0], located.files[1]);
  const batch = parseCifarBatch(await readDataFile(located.files[0]), located.files[0]);
  checkCount(batch.count, located.files[0]);
  return dataset('test', batch.count, batch.pixels, batch.labels);
}
