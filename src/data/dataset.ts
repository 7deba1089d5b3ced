import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../errors.js';

/**
 * A labelled image dataset held as bytes. Pixels stay uint8 (a quarter of float32's memory); float tensors are made
 * per batch with `toTensors`, never for the whole dataset at once unless the caller asks.
 */
export interface ImageDataset {
  /** 'mnist', 'fashion-mnist', 'cifar10', or a folder name. */
  name: string;
  split: 'train' | 'test' | string;
  height: number;
  width: number;
  channels: number;
  count: number;
  /** NHWC, 0..255, length count*height*width*channels. */
  pixels: Uint8Array;
  /** Length count, each in 0..classNames.length-1. */
  labels: Int32Array;
  classNames: string[];
  /** Facts a user must know about this data, e.g. that a test split is partial or that it is a subset. */
  notes?: string[];
  /** Set when the images are the sample bundled with advkit because the dataset's files were found nowhere. */
  sample?: DatasetSample;
}

/** What a bundled sample holds, and how to get the full split instead. */
export interface DatasetSample {
  /** Images in the sample as loaded. */
  count: number;
  /** Images in the full split. */
  fullCount: number;
  /** For outputs, e.g. 'the first 1,000 of the 10,000 MNIST test images'. */
  description: string;
  /** How to get the full files, for errors: where to put them and where to download them. */
  provide: string;
}

/** Bytes per image. */
export function imageSize(ds: ImageDataset): number {
  return ds.height * ds.width * ds.channels;
}

function checkIndices(ds: ImageDataset, indices: ArrayLike<number>): void {
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    if (!Number.isInteger(j) || j < 0 || j >= ds.count) {
      throw invalidArgument(
        `Index ${j} (position ${i}) is not a valid image index for dataset '${ds.name}' (${ds.split}); expected an integer in 0..${ds.count - 1}.`,
      );
    }
  }
}

/**
 * x: float32 [n,h,w,c] in [0,1]; y: int32 [n]. Without indices, the whole dataset (mind the memory:
 * 4 bytes per pixel). Caller disposes both tensors.
 */
export function toTensors(ds: ImageDataset, indices?: ArrayLike<number>): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const size = imageSize(ds);
  if (indices === undefined) {
    const x = new Float32Array(ds.pixels.length);
    for (let i = 0; i < x.length; i++) x[i] = ds.pixels[i] / 255;
    return {
      x: tf.tensor4d(x, [ds.count, ds.height, ds.width, ds.channels], 'float32'),
      y: tf.tensor1d(Int32Array.from(ds.labels), 'int32'),
    };
  }
  checkIndices(ds, indices);
  const n = indices.length;
  const x = new Float32Array(n * size);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const src = indices[i] * size;
    const dst = i * size;
    for (let p = 0; p < size; p++) x[dst + p] = ds.pixels[src + p] / 255;
    y[i] = ds.labels[indices[i]];
  }
  return { x: tf.tensor4d(x, [n, ds.height, ds.width, ds.channels], 'float32'), y: tf.tensor1d(y, 'int32') };
}

/** A new dataset holding copies of the given images, in the given order (indices may repeat). */
export function take(ds: ImageDataset, indices: ArrayLike<number>): ImageDataset {
  checkIndices(ds, indices);
  const size = imageSize(ds);
  const n = indices.length;
  const pixels = new Uint8Array(n * size);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const src = indices[i] * size;
    pixels.set(ds.pixels.subarray(src, src + size), i * size);
    labels[i] = ds.labels[indices[i]];
  }
  return {
    ...ds,
    count: n,
    pixels,
    labels,
    classNames: [...ds.classNames],
    notes: ds.notes && [...ds.notes],
  };
}
