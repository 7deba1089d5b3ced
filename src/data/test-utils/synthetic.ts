/** Small hand-made files and datasets for the data tests. */
import type { ImageDataset } from '../dataset.js';

/** An unsigned-byte IDX file: magic, big-endian dims, data. */
export function idxBytes(magic: number, dims: number[], data: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(Array.from(data), 4 + 4 * dims.length);
  return out;
}

/** CIFAR-10 records: record n has label labels[n]; R plane = (n + p) % 256, G = 100, B = p % 7. */
export function cifarBytes(labels: number[]): Uint8Array {
  const plane = 1024;
  const out = new Uint8Array(labels.length * (1 + 3 * plane));
  labels.forEach((label, n) => {
    const rec = n * (1 + 3 * plane);
    out[rec] = label;
    for (let p = 0; p < plane; p++) {
      out[rec + 1 + p] = (n + p) % 256;
      out[rec + 1 + plane + p] = 100;
      out[rec + 1 + 2 * plane + p] = p % 7;
    }
  });
  return out;
}

/** A POSIX ustar archive of regular files. */
export function tarBytes(files: { name: string; data: Uint8Array }[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const { name, data } of files) {
    const header = new Uint8Array(512);
    header.set(enc.encode(name), 0);
    header.set(enc.encode('0000644\0'), 100);
    header.set(enc.encode('0000000\0'), 108);
    header.set(enc.encode('0000000\0'), 116);
    header.set(enc.encode(data.length.toString(8).padStart(11, '0') + '\0'), 124);
    header.set(enc.encode('00000000000\0'), 136);
    header[156] = '0'.charCodeAt(0);
    header.set(enc.encode('ustar\0' + '00'), 257);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
    header.set(enc.encode(sum.toString(8).padStart(6, '0') + '\0 '), 148);
    blocks.push(header);
    const body = new Uint8Array(Math.ceil(data.length / 512) * 512);
    body.set(data);
    blocks.push(body);
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let offset = 0;
  for (const b of blocks) {
    out.set(b, offset);
    offset += b.length;
  }
  return out;
}

/** `count` (<= 256) 2x2x1 images, image i filled with value i, label i % classes. */
export function tinyDataset(count: number, classes = 3): ImageDataset {
  const pixels = new Uint8Array(count * 4);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    pixels.fill(i, i * 4, i * 4 + 4);
    labels[i] = i % classes;
  }
  return {
    name: 'tiny',
    split: 'test',
    height: 2,
    width: 2,
    channels: 1,
    count,
    pixels,
    labels,
    classNames: Array.from({ length: classes }, (_, i) => `c${i}`),
  };
}
