import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng.js';
import { randomValues, relativeError, runOn, startWasmWithAdvkitKernels } from './test-utils/wasm-vs-cpu.js';

beforeAll(startWasmWithAdvkitKernels);

interface Case {
  x: [number, number, number, number];
  size: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid';
}

const CASES: Case[] = [
  { x: [2, 8, 8, 3], size: 2, strides: 2, pad: 'valid' },
  { x: [2, 9, 7, 4], size: 2, strides: 2, pad: 'valid' },
  { x: [2, 9, 7, 4], size: 2, strides: 2, pad: 'same' },
  { x: [1, 9, 7, 4], size: 3, strides: 2, pad: 'same' },
  { x: [3, 7, 9, 2], size: [2, 3], strides: 1, pad: 'valid' },
  { x: [2, 10, 10, 5], size: 3, strides: [2, 3], pad: 'same' },
  { x: [1, 8, 8, 2], size: 4, strides: 4, pad: 'valid' },
];

describe('pooling gradients on wasm equal cpu', () => {
  for (const c of CASES) {
    for (const kind of ['max', 'avg'] as const) {
      it(`${kind} pool x ${c.x.join('x')} size ${String(c.size)} stride ${String(c.strides)} ${c.pad}`, async () => {
        const rng = new Rng(5);
        // relu makes ties (whole windows of zeros): the gradient must go to the first maximum only
        const xv = randomValues(rng, c.x);
        const pool = (x: tf.Tensor4D) =>
          kind === 'max'
            ? tf.maxPool(tf.relu(x), c.size, c.strides, c.pad)
            : tf.avgPool(x, c.size, c.strides, c.pad);
        const shape = (await runOn('cpu', () => pool(tf.tensor4d(xv, c.x))))[0].shape;
        const rv = randomValues(rng, shape);
        const grad = () => {
          const r = tf.tensor(rv, shape);
          return tf.grad((x: tf.Tensor) => tf.sum(tf.mul(pool(x as tf.Tensor4D), r)))(tf.tensor4d(xv, c.x));
        };
        const [wasm] = await runOn('wasm', grad);
        const [cpu] = await runOn('cpu', grad);
        expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-6);
      });
    }
  }
});
