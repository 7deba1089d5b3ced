import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { startWasmWithAdvkitKernels } from './test-utils/wasm-vs-cpu.js';

beforeAll(startWasmWithAdvkitKernels);

describe('Identity and Cast on wasm', () => {
  it('share the buffer, keep values, and free it only with the last tensor', () => {
    const before = tf.memory().numDataBuffers;
    const x = tf.tensor([1.5, -2, 3], [3]);
    const copy = tf.clone(x);
    const same = tf.cast(x, 'float32');
    expect(tf.memory().numDataBuffers).toBe(before + 1);
    x.dispose();
    copy.dispose();
    expect(Array.from(same.dataSync())).toEqual([1.5, -2, 3]);
    same.dispose();
    expect(tf.memory().numDataBuffers).toBe(before);
  });

  it('still convert when the dtype changes', () => {
    const x = tf.tensor([1.7, -2.2, 0], [3]);
    const ints = tf.cast(x, 'int32');
    expect(ints.dtype).toBe('int32');
    expect(Array.from(ints.dataSync())).toEqual([1, -2, 0]);
    tf.dispose([x, ints]);
  });
});
