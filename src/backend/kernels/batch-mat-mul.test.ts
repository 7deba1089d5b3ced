import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng.js';
import {
  randomValues,
  relativeError,
  runOn,
  startWasmWithAdvkitKernels,
  transposedShape,
} from './test-utils/wasm-vs-cpu.js';

beforeAll(startWasmWithAdvkitKernels);

const CASES: { a: number[]; b: number[] }[] = [
  { a: [5, 7], b: [7, 3] },
  { a: [1, 40], b: [40, 300] },
  { a: [300, 20], b: [20, 6] },
  { a: [3, 4, 6], b: [3, 6, 5] },
  { a: [2, 3, 4, 6], b: [6, 5] },
  { a: [4, 6], b: [2, 6, 5] },
];

describe('BatchMatMul on wasm equals cpu for every transpose flag', () => {
  for (const c of CASES) {
    for (const [ta, tb] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ] as const) {
      it(`a ${c.a.join('x')} b ${c.b.join('x')} transposeA=${ta} transposeB=${tb}`, async () => {
        const rng = new Rng(c.a.length * 100 + c.b[0]);
        const aShape = transposedShape(c.a, ta);
        const bShape = transposedShape(c.b, tb);
        const av = randomValues(rng, aShape);
        const bv = randomValues(rng, bShape);
        const run = () => tf.matMul(tf.tensor(av, aShape), tf.tensor(bv, bShape), ta, tb);
        const [wasm] = await runOn('wasm', run);
        const [cpu] = await runOn('cpu', run);
        expect(wasm.shape).toEqual(cpu.shape);
        expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-5);
      });
    }
  }
});

describe('BatchMatMul on wasm broadcasts batch dimensions both ways', () => {
  it('[2, 1] against [1, 3] equals the product of the tiled operands', async () => {
    const rng = new Rng(9);
    const av = randomValues(rng, [2, 1, 3, 4]);
    const bv = randomValues(rng, [1, 3, 4, 5]);
    const [wasm] = await runOn('wasm', () =>
      tf.matMul(tf.tensor(av, [2, 1, 3, 4]), tf.tensor(bv, [1, 3, 4, 5])),
    );
    // tiled first: tfjs's cpu kernel pairs broadcast batches wrongly (batch i with i)
    const [cpu] = await runOn('cpu', () =>
      tf.matMul(
        tf.tile(tf.tensor(av, [2, 1, 3, 4]), [1, 3, 1, 1]),
        tf.tile(tf.tensor(bv, [1, 3, 4, 5]), [2, 1, 1, 1]),
      ),
    );
    expect(wasm.shape).toEqual([2, 3, 3, 5]);
    expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-5);
  });
});
