import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng.js';
import {
  dilateFilter,
  dilatedTaps,
  randomValues,
  relativeError,
  runOn,
  transposedShape,
} from '../kernels/test-utils/wasm-vs-cpu.js';
import { nativeAddonForTests, startWasmWithNativeKernels, type CallCounts } from './test-utils/native-on.js';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvCase {
  x: Shape4;
  filter: Shape4;
  strides: number;
  pad: Pad;
}

const TOLERANCE = 1e-4;
const available = nativeAddonForTests() !== undefined;
let calls: CallCounts;

beforeAll(async () => {
  if (!available) return;
  const counts = await startWasmWithNativeKernels();
  if (counts === undefined) throw new Error('native addon vanished');
  calls = counts;
});

/** Random convolution cases: odd and even kernels, strides 1 and 2, every padding kind, batch 1 to 128. */
function randomCases(seed: number, count: number, depthwise: boolean): ConvCase[] {
  const rng = new Rng(seed);
  const pick = <T>(values: T[]): T => values[rng.int(values.length)];
  const cases: ConvCase[] = [];
  for (let i = 0; i < count; i++) {
    const batch = i % 5 === 0 ? 128 : pick([1, 2, 3]);
    const h = pick([5, 6, 7, 9, 12]);
    const w = pick([5, 8, 11]);
    const c = pick([1, 2, 3, 5, 8]);
    const kh = pick([1, 2, 3, 4, 5]);
    const kw = pick([1, 2, 3, 5]);
    const k = depthwise ? pick([1, 2, 3]) : pick([1, 3, 4, 7]);
    const strides = pick([1, 2]);
    const padKind = pick(['same', 'valid', 'explicit'] as const);
    const pad: Pad =
      padKind === 'explicit'
        ? [
            [0, 0],
            [pick([0, 1, 2]), pick([0, 1, 3])],
            [pick([0, 2]), pick([0, 1])],
            [0, 0],
          ]
        : padKind;
    if (padKind === 'valid' && (kh > h || kw > w)) continue;
    cases.push({ x: [batch, h, w, c], filter: [kh, kw, c, k], strides, pad });
  }
  return cases;
}

function label(c: ConvCase): string {
  return `x ${c.x.join('x')} filter ${c.filter.join('x')} stride ${c.strides} pad ${JSON.stringify(c.pad)}`;
}

/** y, dx and dW of sum(conv(x, W) * r) on wasm with the native kernels, and on cpu. */
async function compareConv(c: ConvCase, depthwise: boolean): Promise<void> {
  const rng = new Rng(c.x.reduce((a, b) => a * 31 + b, 7) + c.filter[0]);
  const xv = randomValues(rng, c.x);
  const wv = randomValues(rng, c.filter);
  const conv = (x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D =>
    depthwise ? tf.depthwiseConv2d(x, w, c.strides, c.pad) : tf.conv2d(x, w, c.strides, c.pad);
  const forward = () => conv(tf.tensor4d(xv, c.x), tf.tensor4d(wv, c.filter));
  const [yCpu] = await runOn('cpu', forward);
  const before = { ...calls };
  const [yNative] = await runOn('wasm', forward);
  expect(calls.convForward).toBe(before.convForward + 1);
  expect(yNative.shape).toEqual(yCpu.shape);
  expect(relativeError(yNative.values, yCpu.values)).toBeLessThan(TOLERANCE);

  const rv = randomValues(rng, yCpu.shape);
  const grads = () => {
    const r = tf.tensor(rv, yCpu.shape);
    const f = (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(conv(x as tf.Tensor4D, w as tf.Tensor4D), r));
    return tf.grads(f)([tf.tensor4d(xv, c.x), tf.tensor4d(wv, c.filter)]);
  };
  const [dxNative, dwNative] = await runOn('wasm', grads);
  const [dxCpu, dwCpu] = await runOn('cpu', grads);
  expect(calls.convBackwardData).toBe(before.convBackwardData + 1);
  expect(calls.convBackwardFilter).toBe(before.convBackwardFilter + 1);
  expect(relativeError(dxNative.values, dxCpu.values)).toBeLessThan(TOLERANCE);
  expect(relativeError(dwNative.values, dwCpu.values)).toBeLessThan(TOLERANCE);
}

describe.skipIf(!available)('native conv2d: forward, input and filter gradients equal cpu', () => {
  for (const c of randomCases(101, 24, false)) it(label(c), () => compareConv(c, false));
});

describe.skipIf(!available)('native one-channel input gradient (advkit loop, not oneDNN) equals cpu', () => {
  const cases: ConvCase[] = [
    { x: [128, 28, 28, 1], filter: [5, 5, 1, 16], strides: 1, pad: 'same' },
    { x: [3, 9, 7, 1], filter: [3, 2, 1, 32], strides: 1, pad: 'valid' },
    {
      x: [2, 8, 9, 1],
      filter: [4, 3, 1, 16],
      strides: 1,
      pad: [
        [0, 0],
        [3, 0],
        [1, 2],
        [0, 0],
      ],
    },
    // strided: oneDNN's
    { x: [2, 9, 9, 1], filter: [3, 3, 1, 16], strides: 2, pad: 'same' },
  ];
  for (const c of cases) it(label(c), () => compareConv(c, false));
});

describe.skipIf(!available)('native depthwise conv2d: forward, input and filter gradients equal cpu', () => {
  for (const c of randomCases(202, 16, true)) it(label(c), () => compareConv(c, true));
});

describe.skipIf(!available)('native fused convolutions equal cpu', () => {
  const activations = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const;
  for (const depthwise of [false, true]) {
    for (const activation of activations) {
      it(`${depthwise ? 'depthwise' : 'conv2d'} + bias + ${activation}`, async () => {
        const rng = new Rng(activation.length * 7 + (depthwise ? 1 : 0));
        const xShape: Shape4 = [3, 9, 8, 5];
        const wShape: Shape4 = depthwise ? [3, 3, 5, 2] : [3, 3, 5, 7];
        const outChannels = depthwise ? 10 : 7;
        const xv = randomValues(rng, xShape);
        const wv = randomValues(rng, wShape);
        const bv = randomValues(rng, [outChannels]);
        const run = () => {
          const args = {
            x: tf.tensor4d(xv, xShape),
            filter: tf.tensor4d(wv, wShape),
            strides: 2,
            pad: 'same' as const,
            bias: tf.tensor1d(bv),
            activation,
            leakyreluAlpha: 0.3,
          };
          return depthwise ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
        };
        const before = calls.convForward;
        const [native] = await runOn('wasm', run);
        const [cpu] = await runOn('cpu', run);
        expect(calls.convForward).toBe(before + 1);
        expect(relativeError(native.values, cpu.values)).toBeLessThan(TOLERANCE);
      });
    }
  }

  it('prelu is not fused natively: it falls back to the replaced kernel, with the same result', async () => {
    const rng = new Rng(5);
    const xv = randomValues(rng, [2, 6, 6, 3]);
    const wv = randomValues(rng, [3, 3, 3, 4]);
    const run = () =>
      tf.fused.conv2d({
        x: tf.tensor4d(xv, [2, 6, 6, 3]),
        filter: tf.tensor4d(wv, [3, 3, 3, 4]),
        strides: 1,
        pad: 'same',
        activation: 'prelu',
        preluActivationWeights: tf.fill([4], 0.1),
      });
    const before = calls.convForward;
    const [native] = await runOn('wasm', run);
    const [cpu] = await runOn('cpu', run);
    expect(calls.convForward).toBe(before);
    expect(relativeError(native.values, cpu.values)).toBeLessThan(TOLERANCE);
  });
});

describe.skipIf(!available)('native dilated convolutions equal cpu', () => {
  const cases: { depthwise: boolean; x: Shape4; filter: Shape4; pad: 'same' | 'valid' }[] = [
    { depthwise: false, x: [2, 9, 9, 3], filter: [3, 3, 3, 4], pad: 'same' },
    { depthwise: false, x: [1, 10, 9, 5], filter: [2, 3, 5, 3], pad: 'valid' },
    { depthwise: true, x: [2, 9, 9, 3], filter: [3, 3, 3, 2], pad: 'same' },
    { depthwise: true, x: [128, 8, 7, 1], filter: [2, 2, 1, 3], pad: 'valid' },
  ];
  for (const c of cases) {
    it(`${c.depthwise ? 'depthwise' : 'conv2d'} x ${c.x.join('x')} filter ${c.filter.join('x')} dilation 2 ${c.pad}`, async () => {
      const rng = new Rng(c.x[0] + c.x[1] * 13);
      const prefix = c.depthwise ? 'DepthwiseConv2dNative' : 'Conv2D';
      const xv = randomValues(rng, c.x);
      const wv = randomValues(rng, c.filter);
      const spread = dilateFilter(wv, c.filter, [2, 2]);
      const conv = (w: tf.Tensor4D, dilation: number) =>
        c.depthwise
          ? tf.depthwiseConv2d(tf.tensor4d(xv, c.x), w, 1, c.pad, 'NHWC', dilation)
          : tf.conv2d(tf.tensor4d(xv, c.x), w, 1, c.pad, 'NHWC', dilation);
      const [yNative] = await runOn('wasm', () => conv(tf.tensor4d(wv, c.filter), 2));
      const [yCpu] = await runOn('cpu', () => conv(tf.tensor4d(spread.values, spread.shape), 1));
      expect(relativeError(yNative.values, yCpu.values)).toBeLessThan(TOLERANCE);

      const dyv = randomValues(rng, yCpu.shape);
      const attrs = (dilation: number, filterShape: number[]) => ({
        strides: 1,
        pad: c.pad,
        dataFormat: 'NHWC',
        dilations: dilation,
        inputShape: c.x,
        filterShape,
      });
      const grads = (w: { values: Float32Array; shape: number[] }, dilation: number) => () => {
        const dy = tf.tensor(dyv, yCpu.shape);
        const engine = tf.engine();
        const dx = engine.runKernel(
          `${prefix}BackpropInput`,
          { dy, filter: tf.tensor(w.values, w.shape) },
          attrs(dilation, w.shape),
        );
        const dw = engine.runKernel(
          `${prefix}BackpropFilter`,
          { x: tf.tensor(xv, c.x), dy },
          attrs(dilation, w.shape),
        );
        return [dx as tf.Tensor, dw as tf.Tensor];
      };
      const [dxNative, dwNative] = await runOn('wasm', grads({ values: wv, shape: c.filter }, 2));
      const [dxCpu, dwSpread] = await runOn('cpu', grads(spread, 1));
      expect(relativeError(dxNative.values, dxCpu.values)).toBeLessThan(TOLERANCE);
      // the spread filter's gradient at the dilated taps is the dilated filter's gradient
      const dwCpu = dilatedTaps(dwSpread, c.filter, [2, 2]);
      expect(relativeError(dwNative.values, dwCpu)).toBeLessThan(TOLERANCE);
    });
  }
});

describe.skipIf(!available)('native matMul equals cpu', () => {
  const cases: { a: number[]; b: number[] }[] = [
    { a: [5, 7], b: [7, 3] },
    { a: [1, 40], b: [40, 301] },
    { a: [128, 3136], b: [3136, 33] },
    { a: [3, 4, 6], b: [3, 6, 5] },
    { a: [2, 3, 4, 6], b: [6, 5] },
    { a: [4, 6], b: [2, 6, 5] },
    { a: [1, 4, 6], b: [3, 6, 5] },
  ];
  for (const c of cases) {
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
        const before = calls.matMul;
        const [native] = await runOn('wasm', run);
        const [cpu] = await runOn('cpu', run);
        expect(calls.matMul).toBe(before + 1);
        expect(native.shape).toEqual(cpu.shape);
        expect(relativeError(native.values, cpu.values)).toBeLessThan(TOLERANCE);
      });
    }
  }

  for (const activation of ['linear', 'relu', 'elu', 'sigmoid', 'leakyrelu', 'relu6'] as const) {
    it(`fused with bias and ${activation}`, async () => {
      const rng = new Rng(activation.length);
      const av = randomValues(rng, [9, 13]);
      const bv = randomValues(rng, [11, 13]);
      const biasValues = randomValues(rng, [11]);
      const run = () =>
        tf.fused.matMul({
          a: tf.tensor2d(av, [9, 13]),
          b: tf.tensor2d(bv, [11, 13]),
          transposeB: true,
          bias: tf.tensor1d(biasValues),
          activation,
          leakyreluAlpha: 0.1,
        });
      const before = calls.matMul;
      const [native] = await runOn('wasm', run);
      const [cpu] = await runOn('cpu', run);
      expect(calls.matMul).toBe(before + 1);
      expect(relativeError(native.values, cpu.values)).toBeLessThan(TOLERANCE);
    });
  }

  it('broadcasts batch dimensions both ways', async () => {
    const rng = new Rng(9);
    const av = randomValues(rng, [2, 1, 3, 4]);
    const bv = randomValues(rng, [1, 3, 4, 5]);
    const before = calls.matMul;
    const [native] = await runOn('wasm', () =>
      tf.matMul(tf.tensor(av, [2, 1, 3, 4]), tf.tensor(bv, [1, 3, 4, 5])),
    );
    // the reference tiles the operands first (tfjs's cpu kernel pairs broadcast batches wrongly: batch i with i)
    const [cpu] = await runOn('cpu', () =>
      tf.matMul(
        tf.tile(tf.tensor(av, [2, 1, 3, 4]), [1, 3, 1, 1]),
        tf.tile(tf.tensor(bv, [1, 3, 4, 5]), [2, 1, 1, 1]),
      ),
    );
    expect(calls.matMul).toBe(before + 1);
    expect(native.shape).toEqual([2, 3, 3, 5]);
    expect(relativeError(native.values, cpu.values)).toBeLessThan(TOLERANCE);
  });
});

describe.skipIf(!available)('native max-pooling gradient equals cpu', () => {
  const cases: { x: Shape4; size: number; strides: number; pad: 'same' | 'valid' }[] = [
    { x: [128, 8, 8, 3], size: 2, strides: 2, pad: 'valid' },
    // tiling windows with a row and a column left over, which get no gradient
    { x: [2, 9, 7, 3], size: 2, strides: 2, pad: 'valid' },
    { x: [2, 9, 7, 5], size: 3, strides: 2, pad: 'same' },
    { x: [1, 7, 7, 2], size: 3, strides: 1, pad: 'same' },
    { x: [3, 6, 9, 1], size: 2, strides: 1, pad: 'valid' },
  ];
  for (const c of cases) {
    it(`x ${c.x.join('x')} window ${c.size} stride ${c.strides} ${c.pad}`, async () => {
      const rng = new Rng(c.x[0] * 7 + c.size);
      // rounded values make ties, which must go to the window's first maximum on both sides
      const xv = randomValues(rng, c.x).map((v) => Math.round(v * 2) / 2);
      const grads = () => {
        const x = tf.tensor4d(xv, c.x);
        const f = (v: tf.Tensor) => {
          const y = tf.maxPool(v as tf.Tensor4D, c.size, c.strides, c.pad);
          return tf.sum(tf.mul(y, tf.reshape(tf.range(1, y.size + 1), y.shape)));
        };
        return tf.grad(f)(x);
      };
      const before = calls.maxPoolBackward;
      const [native] = await runOn('wasm', grads);
      const [cpu] = await runOn('cpu', grads);
      expect(calls.maxPoolBackward).toBe(before + 1);
      expect(relativeError(native.values, cpu.values)).toBeLessThan(TOLERANCE);
    });
  }
});

describe.skipIf(!available)('native element-wise ops and reductions equal cpu on large tensors', () => {
  const big: Shape4 = [8, 16, 16, 20]; // 40,960 elements: above the native threshold
  const special = (values: Float32Array) => {
    values[0] = NaN;
    values[1] = 0;
    values[2] = -0;
    return values;
  };
  const binaryCases: { name: string; a: number[]; b: number[] }[] = [
    { name: 'same shape', a: big, b: big },
    { name: 'bias over the last axis', a: big, b: [20] },
    { name: 'bias shaped [1, 1, 1, C]', a: big, b: [1, 1, 1, 20] },
    { name: 'scalar on the left', a: [], b: big },
    { name: 'last two axes', a: [16, 20], b: big },
  ];
  const ops = { add: tf.add, sub: tf.sub, mul: tf.mul };
  for (const c of binaryCases) {
    for (const [opName, op] of Object.entries(ops)) {
      it(`${opName}: ${c.name}`, async () => {
        const rng = new Rng(c.a.length * 10 + c.b.length + opName.length);
        const full = c.a.length === 4;
        // NaN and signed zeros where a is the full operand (a repeated NaN would make every row NaN)
        const av = full ? special(randomValues(rng, c.a)) : randomValues(rng, c.a.length === 0 ? [1] : c.a);
        const bv = randomValues(rng, c.b);
        const run = () => op(tf.tensor(av, c.a), tf.tensor(bv, c.b));
        const before = calls.binary;
        const [native] = await runOn('wasm', run);
        const [cpu] = await runOn('cpu', run);
        expect(calls.binary).toBe(before + 1);
        expect(native.shape).toEqual(cpu.shape);
        expect(Number.isNaN(native.values[0])).toBe(Number.isNaN(cpu.values[0]));
        expect(relativeError(native.values.subarray(1), cpu.values.subarray(1))).toBeLessThan(1e-6);
      });
    }
  }

  it('broadcasts that are not a repetition fall back, with the same result', async () => {
    const rng = new Rng(4);
    const av = randomValues(rng, big);
    const bv = randomValues(rng, [8, 1, 1, 20]);
    const run = () => tf.add(tf.tensor(av, big), tf.tensor(bv, [8, 1, 1, 20]));
    const before = calls.binary;
    const [native] = await runOn('wasm', run);
    const [cpu] = await runOn('cpu', run);
    expect(calls.binary).toBe(before);
    expect(relativeError(native.values, cpu.values)).toBeLessThan(1e-6);
  });

  const unaryOps: [string, (x: tf.Tensor) => tf.Tensor][] = [
    ['relu', tf.relu],
    ['step', (x) => tf.step(x, 0.25)],
    ['sign', tf.sign],
  ];
  for (const [name, op] of unaryOps) {
    it(name, async () => {
      const rng = new Rng(name.length);
      const xv = special(randomValues(rng, big));
      const run = () => op(tf.tensor(xv, big));
      const before = calls.unary;
      const [native] = await runOn('wasm', run);
      const [cpu] = await runOn('cpu', run);
      expect(calls.unary).toBe(before + 1);
      for (let i = 0; i < 3; i++)
        expect(Object.is(native.values[i], cpu.values[i]) || native.values[i] === cpu.values[i]).toBe(true);
      expect(relativeError(native.values.subarray(3), cpu.values.subarray(3))).toBe(0);
    });
  }

  for (const [name, op, keepDims] of [
    ['sum over N, H, W', tf.sum, false],
    ['mean over N, H, W, keeping dims', tf.mean, true],
  ] as const) {
    it(name, async () => {
      const rng = new Rng(name.length);
      const xv = randomValues(rng, big);
      const run = () => op(tf.tensor(xv, big), [0, 1, 2], keepDims);
      const before = calls.sumRows;
      const [native] = await runOn('wasm', run);
      const [cpu] = await runOn('cpu', run);
      expect(calls.sumRows).toBe(before + 1);
      expect(native.shape).toEqual(cpu.shape);
      expect(relativeError(native.values, cpu.values)).toBeLessThan(1e-5);
    });
  }

  it('small tensors stay on wasm', async () => {
    const before = { ...calls };
    await runOn('wasm', () => tf.relu(tf.add(tf.ones([4, 4]), tf.ones([4, 4]))));
    expect(calls.binary).toBe(before.binary);
    expect(calls.unary).toBe(before.unary);
  });
});

describe.skipIf(!available)('native max pooling equals cpu', () => {
  const cases: { x: Shape4; size: number; strides: number; pad: 'same' | 'valid' }[] = [
    { x: [128, 8, 8, 3], size: 2, strides: 2, pad: 'valid' },
    { x: [2, 9, 7, 5], size: 3, strides: 2, pad: 'same' },
    { x: [3, 6, 9, 1], size: 2, strides: 1, pad: 'valid' },
  ];
  for (const c of cases) {
    it(`x ${c.x.join('x')} window ${c.size} stride ${c.strides} ${c.pad}`, async () => {
      const rng = new Rng(c.x[0] + c.size * 3);
      const xv = randomValues(rng, c.x);
      const run = () => tf.maxPool(tf.tensor4d(xv, c.x), c.size, c.strides, c.pad);
      const before = calls.maxPoolForward;
      const [native] = await runOn('wasm', run);
      const [cpu] = await runOn('cpu', run);
      expect(calls.maxPoolForward).toBe(before + 1);
      expect(native.shape).toEqual(cpu.shape);
      expect(relativeError(native.values, cpu.values)).toBe(0);
    });
  }
});

describe.skipIf(!available)('native batch normalization equals cpu', () => {
  const shape: Shape4 = [8, 16, 16, 20];
  for (const [name, withOffset, withScale] of [
    ['with offset and scale', true, true],
    ['without offset and scale', false, false],
  ] as const) {
    it(name, async () => {
      const rng = new Rng(name.length);
      const xv = randomValues(rng, shape);
      const mean = randomValues(rng, [20]);
      const variance = randomValues(rng, [20]).map((v) => v * v + 0.1);
      const offset = randomValues(rng, [20]);
      const scale = randomValues(rng, [20]);
      const run = () =>
        tf.batchNorm(
          tf.tensor(xv, shape),
          tf.tensor1d(mean),
          tf.tensor1d(variance),
          withOffset ? tf.tensor1d(offset) : undefined,
          withScale ? tf.tensor1d(scale) : undefined,
          1e-3,
        );
      const before = calls.channelAffine;
      const [native] = await runOn('wasm', run);
      const [cpu] = await runOn('cpu', run);
      expect(calls.channelAffine).toBe(before + 1);
      expect(relativeError(native.values, cpu.values)).toBeLessThan(1e-5);
    });
  }
});
