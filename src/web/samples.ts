/**
 * The bundled test samples, fetched from the site and decoded in the browser: gunzip with the platform's
 * DecompressionStream, then the library's own IDX and CIFAR-10 parsers.
 */
import { parseCifarBatch } from '../data/cifar.js';
import { parseIdxImages, parseIdxLabels } from '../data/idx.js';
import type { SampleSet } from './catalog.js';

export interface DecodedSamples {
  count: number;
  height: number;
  width: number;
  channels: 1 | 3;
  /** NHWC bytes. */
  pixels: Uint8Array;
  labels: Int32Array;
}

async function gunzip(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok || response.body === null)
    throw new Error(`Cannot fetch ${url}: HTTP ${response.status}.`);
  const stream = response.body.pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function loadSamples(set: SampleSet, base: string): Promise<DecodedSamples> {
  const urls = set.files.map((f) => new URL(f, base).href);
  if (set.dataset === 'mnist') {
    const [imageBytes, labelBytes] = await Promise.all(urls.map(gunzip));
    const images = parseIdxImages(imageBytes, set.files[0]);
    const labels = parseIdxLabels(labelBytes, set.files[1]);
    return { ...images, channels: 1, labels };
  }
  const batch = parseCifarBatch(await gunzip(urls[0]), set.files[0]);
  return {
    count: batch.count,
    height: 32,
    width: 32,
    channels: 3,
    pixels: batch.pixels,
    labels: batch.labels,
  };
}

/** One sample's bytes and label. */
export function sampleAt(s: DecodedSamples, index: number): { pixels: Uint8Array; label: number } {
  const size = s.height * s.width * s.channels;
  return { pixels: s.pixels.slice(index * size, (index + 1) * size), label: s.labels[index] };
}
