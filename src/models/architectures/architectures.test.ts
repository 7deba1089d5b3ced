import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdvkitError } from '../../errors.js';
import { initNodeBackend } from '../../backend/node-backend.js';
import { ARCHITECTURES, buildArchitecture, type ArchitectureName } from './index.js';

function trainableParams(model: tfl.LayersModel): number {
  return model.trainableWeights.reduce((n, w) => n + w.shape.reduce<number>((a, d) => a * (d ?? 1), 1), 0);
}

interface Case {
  name: ArchitectureName;
  inputShape: [number, number, number];
  options?: Record<string, unknown>;
  /** Trainable parameters of the PyTorch reference, counted by running torch_baseline.py's classes. */
  params?: number;
}

const CASES: Case[] = [
  { name: 'linear', inputShape: [28, 28, 1], params: 784 * 10 + 10 },
  { name: 'mlp', inputShape: [28, 28, 1], options: { hiddenSizes: [32, 16] }, params: 784 * 32 + 32 + 32 * 16 + 16 + 170 },
  { name: 'madry-mnist-cnn', inputShape: [28, 28, 1], params: 3_274_634 },
  { name: 'mnist-cnn', inputShape: [28, 28, 1], params: 215_370 },
  { name: 'cifar-cnn', inputShape: [32, 32, 3], params: 1_116_970 },
  { name: 'cifar-cnn', inputShape: [32, 32, 3], options: { batchNorm: true, dropout: 0.25 } },
  { name: 'preact-resnet18', inputShape: [32, 32, 3], params: 11_172_170 },
  { name: 'wide-resnet', inputShape: [32, 32, 3], options: { depth: 10, widenFactor: 1 } },
];

describe('architectures', () => {
  beforeAll(async () => {
    await initNodeBackend();
  });

  it('lists the seven built-in architectures', () => {
    expect([...ARCHITECTURES]).toEqual([
      'linear',
      'mlp',
      'madry-mnist-cnn',
      'mnist-cnn',
      'cifar-cnn',
      'preact-resnet18',
      'wide-resnet',
    ]);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(ARCHITECTURES.length);
  });

  for (const c of CASES) {
    it(`${c.name} ${JSON.stringify(c.options ?? {})}: logits [n, 10], parameter count`, () => {
      const before = tf.memory().numTensors;
      const model = buildArchitecture(c.name, { inputShape: c.inputShape, numClasses: 10, seed: 1, ...c.options });
      expect(model.outputs[0].shape).toEqual([null, 10]);
      if (c.params !== undefined) expect(trainableParams(model)).toBe(c.params);
      const out = tf.tidy(() => model.predict(tf.randomUniform([2, ...c.inputShape], 0, 1, 'float32', 3)) as tf.Tensor);
      expect(out.shape).toEqual([2, 10]);
      expect(Array.from(out.dataSync()).every(Number.isFinite)).toBe(true);
      out.dispose();
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('wide-resnet: depth and width set the size (WRN-16-2: n = 2 blocks per group, 64k = 128 channels last)', () => {
    const model = buildArchitecture('wide-resnet', { inputShape: [32, 32, 3], numClasses: 10, depth: 16, widenFactor: 2 });
    const convs = model.layers.filter((l) => l.getClassName() === 'Conv2D' && !l.name.includes('shortcut'));
    expect(convs.length).toBe(1 + 3 * 2 * 2); // the stem + two 3x3 convolutions per block
    expect(model.getLayer('group3_block2_conv2').outputShape).toEqual([null, 8, 8, 128]);
    model.dispose();
  });

  it('same seed, same weights; another seed, other weights', () => {
    const weightsOf = (seed: number): Float32Array[] => {
      const model = buildArchitecture('cifar-cnn', { inputShape: [32, 32, 3], numClasses: 10, seed });
      const values = model.getWeights().map((w) => w.dataSync() as Float32Array);
      model.dispose();
      return values;
    };
    const a = weightsOf(5);
    const b = weightsOf(5);
    const c = weightsOf(6);
    expect(a.length).toBe(b.length);
    // Byte comparison: vitest's deep equality is slow on million-element arrays.
    const same = (x: Float32Array, y: Float32Array): boolean =>
      Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
    a.forEach((w, i) => expect(same(w, b[i])).toBe(true));
    expect(same(a[0], c[0])).toBe(false);
    // Layers get distinct seeds: conv1 and conv2 kernels are not the same draws.
    expect(Array.from(a[0].slice(0, 8))).not.toEqual(Array.from(a[2].slice(0, 8)));
  });

  it('rejects unknown architectures, unknown options and bad values with INVALID_ARGUMENT', () => {
    const expectInvalid = (fn: () => unknown, message: RegExp): void => {
      try {
        fn();
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(AdvkitError);
        expect((err as AdvkitError).code).toBe('INVALID_ARGUMENT');
        expect((err as AdvkitError).message).toMatch(message);
      }
    };
    const base = { inputShape: [32, 32, 3] as [number, number, number], numClasses: 10 };
    expectInvalid(() => buildArchitecture('resnet50', base), /Unknown architecture 'resnet50'.*linear/);
    expectInvalid(() => buildArchitecture('mlp', { ...base, hidden: [3] }), /no option 'hidden'.*hiddenSizes/);
    expectInvalid(() => buildArchitecture('wide-resnet', { ...base, depth: 12 }), /6n \+ 4/);
    expectInvalid(() => buildArchitecture('cifar-cnn', { ...base, dropout: 1.5 }), /dropout/);
    expectInvalid(() => buildArchitecture('linear', { ...base, numClasses: 1 }), /numClasses/);
    expectInvalid(() => buildArchitecture('linear', { ...base, inputShape: [32, 32] as never }), /inputShape/);
  });
});
