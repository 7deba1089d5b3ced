import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng.js';
import {
  dilateFilter,
  dilatedTaps,
  randomValues,
  relativeError,
  runOn,
  startWasmWithAdvkitKernels,
} from './test-utils/wasm-vs-cpu.js';

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
}

const TOLERANCE = 1e-4;

beforeAll(startWasmWithAdvkitKernels);

/** dx and dW of sum(conv(x, W) * r) on wasm (advkit kernels) and on cpu. */
async function compareGradients(c: Case, depthwise: boolean): Promise<void> {
  const rng = new Rng(c.x.reduce((a, b) => a * 31 + b, 7) + c.filter[0]);
  const xv = randomValues(rng, c.x);
  const wv = randomValues(rng, c.filter);
  const conv = (x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D =>
    depthwise ? tf.depthwiseConv2d(x, w, c.strides, c.pad) : tf.conv2d(x, w, c.strides, c.pad);
  const outShape = await runOn('cpu', () => conv(tf.tensor4d(xv, c.x), tf.tensor4d(wv, c.filter)));
  const rv = randomValues(rng, outShape[0].shape);
  const grads = () => {
    const r = tf.tensor(rv, outShape[0].shape);
    const f = (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(conv(x as tf.Tensor4D, w as tf.Tensor4D), r));
    return tf.grads(f)([tf.tensor4d(xv, c.x), tf.tensor4d(wv, c.filter)]);
  };
  const [dxWasm, dwWasm] = await runOn('wasm', grads);
  const [dxCpu, dwCpu] = await runOn('cpu', grads);
  expect(dxWasm.shape).toEqual(c.x);
  expect(dwWasm.shape).toEqual(c.filter);
  expect(relativeError(dxWasm.values, dxCpu.values)).toBeLessThan(TOLERANCE);
  expect(relativeError(dwWasm.values, dwCpu.values)).toBeLessThan(TOLERANCE);
}

const CONV_CASES: Case[] = [
  { x: [2, 9, 9, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [1, 8, 8, 1], filter: [5, 5, 1, 5], strides: 1, pad: 'same' },
  { x: [3, 10, 10, 4], filter: [4, 4, 4, 6], strides: 2, pad: 'same' },
  { x: [2, 11, 9, 2], filter: [2, 3, 2, 3], strides: 2, pad: 'valid' },
  { x: [2, 7, 7, 3], filter: [3, 3, 3, 2], strides: 1, pad: 'valid' },
  { x: [1, 9, 8, 5], filter: [1, 1, 5, 4], strides: 2, pad: 'valid' },
  { x: [3, 8, 8, 6], filter: [1, 1, 6, 5], strides: 2, pad: 'same' },
  { x: [2, 7, 6, 3], filter: [1, 1, 3, 8], strides: 1, pad: 'same' },
  {
    x: [2, 6, 6, 5],
    filter: [1, 1, 5, 3],
    strides: 2,
    pad: [
      [0, 0],
      [1, 0],
      [0, 2],
      [0, 0],
    ],
  },
  { x: [2, 9, 10, 3], filter: [3, 2, 3, 4], strides: [1, 2], pad: 'same' },
  // more than 4 input channels: the filter gradient as one convolution over batch-as-channels operands
  { x: [2, 8, 8, 6], filter: [3, 3, 6, 5], strides: 1, pad: 'same' },
  { x: [3, 9, 7, 8], filter: [3, 2, 8, 4], strides: 2, pad: 'valid' },
  {
    x: [2, 6, 7, 3],
    filter: [3, 3, 3, 2],
    strides: 1,
    pad: [
      [0, 0],
      [1, 2],
      [0, 3],
      [0, 0],
    ],
  },
  {
    x: [1, 5, 5, 2],
    filter: [2, 2, 2, 3],
    strides: 1,
    pad: [
      [0, 0],
      [3, 3],
      [3, 3],
      [0, 0],
    ],
  },
  {
    x: [2, 12, 12, 1],
    filter: [3, 3, 1, 4],
    strides: 3,
    pad: [
      [0, 0],
      [4, 0],
      [1, 2],
      [0, 0],
    ],
  },
];

const DEPTHWISE_CASES: Case[] = [
  { x: [2, 9, 9, 3], filter: [3, 3, 3, 1], strides: 1, pad: 'same' },
  { x: [1, 8, 8, 4], filter: [4, 4, 4, 2], strides: 1, pad: 'same' },
  { x: [3, 10, 11, 2], filter: [3, 3, 2, 3], strides: 2, pad: 'same' },
  { x: [2, 11, 9, 3], filter: [2, 3, 3, 1], strides: 2, pad: 'valid' },
  { x: [1, 7, 7, 5], filter: [5, 5, 5, 2], strides: 1, pad: 'valid' },
  {
    x: [2, 6, 6, 2],
    filter: [3, 3, 2, 2],
    strides: 1,
    pad: [
      [0, 0],
      [2, 1],
      [0, 4],
      [0, 0],
    ],
  },
];

function label(c: Case): string {
  return `x ${c.x.join('x')} filter ${c.filter.join('x')} stride ${String(c.strides)} pad ${JSON.stringify(c.pad)}`;
}

describe('conv2d gradients on wasm equal cpu', () => {
  for (const c of CONV_CASES) it(label(c), () => compareGradients(c, false));
});

describe('depthwise conv2d gradients on wasm equal cpu', () => {
  for (const c of DEPTHWISE_CASES) it(label(c), () => compareGradients(c, true));
});

describe('dilated kernels equal undilated ones on a zero-spread filter', () => {
  type Shape4 = [number, number, number, number];
  const cases: { name: 'conv' | 'depthwise'; x: Shape4; filter: Shape4; pad: 'same' | 'valid' }[] = [
    { name: 'conv', x: [2, 9, 9, 3], filter: [3, 3, 3, 4], pad: 'same' },
    { name: 'conv', x: [1, 10, 9, 2], filter: [2, 3, 2, 3], pad: 'valid' },
    { name: 'conv', x: [2, 9, 8, 1], filter: [3, 3, 1, 4], pad: 'same' },
    { name: 'depthwise', x: [2, 9, 9, 3], filter: [3, 3, 3, 2], pad: 'same' },
    { name: 'depthwise', x: [1, 10, 9, 2], filter: [2, 3, 2, 1], pad: 'valid' },
  ];
  for (const c of cases) {
    it(`${c.name} x ${c.x.join('x')} filter ${c.filter.join('x')} dilation 2 ${c.pad}`, async () => {
      const rng = new Rng(11);
      const depthwise = c.name === 'depthwise';
      const prefix = depthwise ? 'DepthwiseConv2dNative' : 'Conv2D';
      const xv = randomValues(rng, c.x);
      const wv = randomValues(rng, c.filter);
      const spread = dilateFilter(wv, c.filter, [2, 2]);
      const fwd = await runOn('cpu', () =>
        depthwise
          ? tf.depthwiseConv2d(tf.tensor4d(xv, c.x), tf.tensor4d(spread.values, spread.shape), 1, c.pad)
          : tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(spread.values, spread.shape), 1, c.pad),
      );
      const dyv = randomValues(rng, fwd[0].shape);
      const attrs = (dilation: number, filterShape: number[]) => ({
        strides: 1,
        pad: c.pad,
        dataFormat: 'NHWC',
        dilations: dilation,
        inputShape: c.x,
        filterShape,
      });
      const run = (w: { values: Float32Array; shape: number[] }, dilation: number) => () => {
        const dy = tf.tensor(dyv, fwd[0].shape);
        const dx = tf
          .engine()
          .runKernel(
            `${prefix}BackpropInput`,
            { dy, filter: tf.tensor(w.values, w.shape) },
            attrs(dilation, w.shape),
          );
        const dw = tf
          .engine()
          .runKernel(`${prefix}BackpropFilter`, { x: tf.tensor(xv, c.x), dy }, attrs(dilation, w.shape));
        return [dx as tf.Tensor, dw as tf.Tensor];
      };
      const [dxWasm, dwWasm] = await runOn('wasm', run({ values: wv, shape: c.filter }, 2));
      const [dxCpu, dwSpread] = await runOn('cpu', run(spread, 1));
      expect(relativeError(dxWasm.values, dxCpu.values)).toBeLessThan(TOLERANCE);
      // the taps of the spread filter's gradient at the dilated positions are the dilated filter's gradient
      const dwCpu = dilatedTaps(dwSpread, c.filter, [2, 2]);
      expect(relativeError(dwWasm.values, dwCpu)).toBeLessThan(TOLERANCE);
    });
  }
});

describe('conv gradient kernels free their intermediates', () => {
  it('leaves no tensors or wasm buffers behind', async () => {
    await tf.setBackend('wasm');
    const rng = new Rng(3);
    const x = tf.tensor4d(randomValues(rng, [2, 8, 8, 3]), [2, 8, 8, 3]);
    const w = tf.tensor4d(randomValues(rng, [3, 3, 3, 4]), [3, 3, 3, 4]);
    const wd = tf.tensor4d(randomValues(rng, [3, 3, 3, 2]), [3, 3, 3, 2]);
    const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.add(
        tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))),
        tf.sum(tf.depthwiseConv2d(a as tf.Tensor4D, c as tf.Tensor4D, 1, 'valid')),
      );
    tf.dispose(tf.grads(loss)([x, w, wd]));
    const tensors = tf.memory().numTensors;
    const buffers = tf.memory().numDataBuffers;
    tf.dispose(tf.grads(loss)([x, w, wd]));
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.memory().numDataBuffers).toBe(buffers);
    tf.dispose([x, w, wd]);
  });
});

describe('NCHW input gradient', () => {
  it('still goes to the stock kernel and equals cpu', async () => {
    const rng = new Rng(21);
    const dyv = randomValues(rng, [2, 4, 5, 5]);
    const wv = randomValues(rng, [3, 3, 3, 4]);
    const run = () =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropInput',
          { dy: tf.tensor4d(dyv, [2, 4, 5, 5]), filter: tf.tensor4d(wv, [3, 3, 3, 4]) },
          { strides: 1, pad: 'same', dataFormat: 'NCHW', inputShape: [2, 3, 5, 5] },
        ) as tf.Tensor;
    const [wasm] = await runOn('wasm', run);
    const [cpu] = await runOn('cpu', run);
    expect(wasm.shape).toEqual([2, 3, 5, 5]);
    expect(relativeError(wasm.values, cpu.values)).toBeLessThan(TOLERANCE);
  });
});
