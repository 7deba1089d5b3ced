import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng.js';
import { randomValues, relativeError, runOn, startWasmWithAdvkitKernels } from './test-utils/wasm-vs-cpu.js';

beforeAll(startWasmWithAdvkitKernels);

const CASES: { shape: number[]; axis: number | number[]; keepDims: boolean }[] = [
  { shape: [6, 5, 4, 3], axis: [0, 1, 2], keepDims: false },
  { shape: [6, 5, 4, 3], axis: [2, 0, 1], keepDims: true },
  { shape: [7, 9], axis: 0, keepDims: false },
  { shape: [7, 9], axis: -2, keepDims: true },
  { shape: [6, 5, 4], axis: [1, 2], keepDims: false }, // trailing: stock kernel
  { shape: [6, 5, 4], axis: [0, 1, 2], keepDims: false }, // full reduction: stock kernel
];

describe('Sum and Mean on wasm equal cpu', () => {
  for (const c of CASES) {
    for (const op of ['sum', 'mean'] as const) {
      it(`${op} of ${c.shape.join('x')} over ${JSON.stringify(c.axis)} keepDims=${c.keepDims}`, async () => {
        const values = randomValues(new Rng(c.shape.length), c.shape);
        const run = () => tf[op](tf.tensor(values, c.shape), c.axis, c.keepDims);
        const [wasm] = await runOn('wasm', run);
        const [cpu] = await runOn('cpu', run);
        expect(wasm.shape).toEqual(cpu.shape);
        expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-5);
      });
    }
  }
});
