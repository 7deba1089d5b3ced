#!/usr/bin/env node
/**
 * Builds the data samples bundled in samples/ (see samples/README.md) from the standard dataset files:
 *   samples/mnist/t10k-images-idx3-ubyte.first1000.gz, t10k-labels-idx1-ubyte.first1000.gz: the first 1,000 MNIST
 *     test images and labels as IDX files (LeCun et al., http://yann.lecun.com/exdb/mnist/);
 *   samples/cifar10/test_batch.first200.bin.gz: the first 200 CIFAR-10 test records in the binary batch format
 *     (1 label byte + 3072 pixel bytes each; Krizhevsky 2009, "Learning Multiple Layers of Features from Tiny Images").
 *
 * Usage: node scripts/build-samples.mjs [--data <dir>] [--out <dir>]
 *   --data  the data root holding mnist/ and cifar10/ (default $ADVKIT_DATA, else ../shared/datasets beside the
 *           repository); CIFAR-10 may be test_batch.bin or the partial test_batch.first1000.bin (gzipped or not).
 *   --out   where to write (default samples/ in the repository).
 *
 * The output is deterministic: gzip level 9 with no file name, mtime 0 and the OS byte fixed to 3 (Unix), so a
 * rebuild with the same zlib gives byte-identical files and git sees no change.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const MNIST_COUNT = 1000;
const CIFAR_COUNT = 200;
const CIFAR_RECORD = 1 + 32 * 32 * 3;
const IDX_IMAGES_MAGIC = 2051;
const IDX_LABELS_MAGIC = 2049;

function fail(message) {
  process.stderr.write(`build-samples: ${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = {
    data: process.env.ADVKIT_DATA || path.resolve(repoRoot, '../shared/datasets'),
    out: path.join(repoRoot, 'samples'),
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if ((flag !== '--data' && flag !== '--out') || value === undefined) {
      fail(`unknown argument '${flag}'; usage: node scripts/build-samples.mjs [--data <dir>] [--out <dir>]`);
    }
    opts[flag.slice(2)] = path.resolve(value);
  }
  return opts;
}

/** The first existing file among the names (each also tried with .gz) in the dirs, decompressed if gzip. */
function readFirst(dirs, names, what) {
  for (const dir of dirs) {
    for (const name of names) {
      for (const file of [path.join(dir, name), path.join(dir, `${name}.gz`)]) {
        if (!existsSync(file)) continue;
        const bytes = readFileSync(file);
        return { file, bytes: bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes };
      }
    }
  }
  return fail(`${what} not found: looked for ${names.join(' or ')}[.gz] in ${dirs.join(', ')}`);
}

/** The first `count` items of an unsigned-byte IDX file, with its header rewritten for that count. */
function idxHead({ file, bytes }, magic, count) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8 || view.getUint32(0, false) !== magic)
    fail(`${file}: not an IDX file with magic ${magic}`);
  const ndims = magic & 0xff;
  const dims = Array.from({ length: ndims }, (_, d) => view.getUint32(4 + 4 * d, false));
  if (dims[0] < count) fail(`${file}: holds ${dims[0]} items; the sample needs ${count}`);
  const itemSize = dims.slice(1).reduce((a, b) => a * b, 1);
  const headerSize = 4 + 4 * ndims;
  const out = Buffer.alloc(headerSize + count * itemSize);
  bytes.copy(out, 0, 0, headerSize);
  out.writeUInt32BE(count, 4);
  bytes.copy(out, headerSize, headerSize, headerSize + count * itemSize);
  return out;
}

function cifarHead({ file, bytes }, count) {
  if (bytes.length % CIFAR_RECORD !== 0 || bytes.length < count * CIFAR_RECORD) {
    fail(`${file}: ${bytes.length} bytes is not at least ${count} CIFAR-10 records of ${CIFAR_RECORD} bytes`);
  }
  const out = bytes.subarray(0, count * CIFAR_RECORD);
  for (let i = 0; i < count; i++) {
    if (out[i * CIFAR_RECORD] > 9)
      fail(`${file}: record ${i} has label ${out[i * CIFAR_RECORD]}, outside 0..9`);
  }
  return out;
}

/** gzip that does not depend on the time or the platform: mtime 0 and no name (zlib's), OS byte 3. */
function deterministicGzip(raw) {
  const gz = gzipSync(raw, { level: 9 });
  gz[9] = 3;
  return gz;
}

function write(file, raw) {
  const gz = deterministicGzip(raw);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, gz);
  const sha = createHash('sha256').update(gz).digest('hex');
  process.stdout.write(`${path.relative(process.cwd(), file)}: ${gz.length} bytes, sha256 ${sha}\n`);
}

const opts = parseArgs(process.argv.slice(2));
const mnistDirs = [path.join(opts.data, 'mnist')];
const cifarDirs = [path.join(opts.data, 'cifar10'), path.join(opts.data, 'cifar10', 'cifar-10-batches-bin')];

const images = readFirst(
  mnistDirs,
  ['t10k-images-idx3-ubyte', 't10k-images.idx3-ubyte'],
  'MNIST test images',
);
const labels = readFirst(
  mnistDirs,
  ['t10k-labels-idx1-ubyte', 't10k-labels.idx1-ubyte'],
  'MNIST test labels',
);
const batch = readFirst(cifarDirs, ['test_batch.bin', 'test_batch.first1000.bin'], 'CIFAR-10 test batch');

write(
  path.join(opts.out, 'mnist', 't10k-images-idx3-ubyte.first1000.gz'),
  idxHead(images, IDX_IMAGES_MAGIC, MNIST_COUNT),
);
write(
  path.join(opts.out, 'mnist', 't10k-labels-idx1-ubyte.first1000.gz'),
  idxHead(labels, IDX_LABELS_MAGIC, MNIST_COUNT),
);
write(path.join(opts.out, 'cifar10', 'test_batch.first200.bin.gz'), cifarHead(batch, CIFAR_COUNT));
