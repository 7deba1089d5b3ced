import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../backend/node-backend.js';
import {
  AdamOptimizer,
  SgdOptimizer,
  createOptimizer,
  type Optimizer,
  type OptimizerConfig,
} from './optimizers.js';

beforeAll(async () => {
  await initNodeBackend({ backend: 'cpu' });
});

const W0 = [0.5, -1.5, 2];
/** Gradient of each step, fixed so that the float64 references below are easy to write. */
const GRADS = [
  [0.1, -0.2, 0.3],
  [0.4, 0.1, -0.5],
  [-0.3, 0.2, 0.2],
];
const LRS = [0.1, 0.05, 0.2];

/** Runs `config` on one variable with the fixed gradients; returns the weights after each step. */
function run(config: OptimizerConfig): number[][] {
  const w = tf.variable(tf.tensor1d(W0));
  const opt = createOptimizer([w], config);
  const out = GRADS.map((g, t) => {
    const grad = tf.tensor1d(g);
    opt.apply([grad], LRS[t]);
    grad.dispose();
    return Array.from(w.dataSync());
  });
  opt.dispose();
  w.dispose();
  return out;
}

function sgdReference(momentum: number, nesterov: boolean, wd: number, decoupled: boolean): number[][] {
  const w = [...W0];
  const buf = [0, 0, 0];
  return GRADS.map((grad, t) => {
    for (let i = 0; i < w.length; i++) {
      const g = grad[i] + (decoupled ? 0 : wd * w[i]);
      buf[i] = momentum * buf[i] + g;
      const update = momentum === 0 ? g : nesterov ? g + momentum * buf[i] : buf[i];
      w[i] = w[i] - LRS[t] * update - (decoupled ? LRS[t] * wd * w[i] : 0);
    }
    return [...w];
  });
}

function adamReference(wd: number, decoupled: boolean): number[][] {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const w = [...W0];
  const m = [0, 0, 0];
  const v = [0, 0, 0];
  return GRADS.map((grad, t) => {
    for (let i = 0; i < w.length; i++) {
      const g = grad[i] + (decoupled ? 0 : wd * w[i]);
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const mHat = m[i] / (1 - b1 ** (t + 1));
      const vHat = v[i] / (1 - b2 ** (t + 1));
      w[i] = w[i] - (LRS[t] * mHat) / (Math.sqrt(vHat) + eps) - (decoupled ? LRS[t] * wd * w[i] : 0);
    }
    return [...w];
  });
}

function expectClose(actual: number[][], expected: number[][]): void {
  actual.forEach((row, t) => row.forEach((v, i) => expect(v).toBeCloseTo(expected[t][i], 5)));
}

describe('SgdOptimizer', () => {
  it('plain SGD', () => expectClose(run({ kind: 'sgd' }), sgdReference(0, false, 0, false)));
  it('momentum', () => expectClose(run({ kind: 'sgd', momentum: 0.9 }), sgdReference(0.9, false, 0, false)));
  it('nesterov', () =>
    expectClose(run({ kind: 'sgd', momentum: 0.9, nesterov: true }), sgdReference(0.9, true, 0, false)));
  it('coupled weight decay', () =>
    expectClose(run({ kind: 'sgd', momentum: 0.5, weightDecay: 0.1 }), sgdReference(0.5, false, 0.1, false)));
  it('decoupled weight decay', () =>
    expectClose(
      run({ kind: 'sgd', momentum: 0.5, weightDecay: 0.1, weightDecayMode: 'decoupled' }),
      sgdReference(0.5, false, 0.1, true),
    ));
  it('rejects bad options', () => {
    const w = tf.variable(tf.zeros([2]));
    expect(() => new SgdOptimizer([w], { momentum: 1 })).toThrow(/momentum/);
    expect(() => new SgdOptimizer([w], { nesterov: true })).toThrow(/Nesterov/);
    expect(() => new SgdOptimizer([w], { weightDecay: -1 })).toThrow(/weightDecay/);
    const opt = new SgdOptimizer([w]);
    expect(() => opt.apply([], 0.1)).toThrow(/0 gradients for 1 variables/);
    const g = tf.zeros([2]);
    expect(() => opt.apply([g], NaN)).toThrow(/Learning rate/);
    tf.dispose([w, g]);
  });
});

describe('AdamOptimizer', () => {
  it('Adam with bias correction', () => expectClose(run({ kind: 'adam' }), adamReference(0, false)));
  it('Adam with L2 weight decay', () =>
    expectClose(run({ kind: 'adam', weightDecay: 0.05 }), adamReference(0.05, false)));
  it('AdamW (decoupled)', () =>
    expectClose(
      run({ kind: 'adam', weightDecay: 0.05, weightDecayMode: 'decoupled' }),
      adamReference(0.05, true),
    ));
});

describe('optimizer state', () => {
  for (const config of [
    { kind: 'sgd', momentum: 0.9, nesterov: true },
    { kind: 'adam' },
  ] as OptimizerConfig[]) {
    it(`${config.kind}: a restored optimizer continues bit for bit, without leaking`, async () => {
      const make = (): { w: tf.Variable; opt: Optimizer } => {
        const w = tf.variable(tf.tensor2d([W0, W0]));
        return { w, opt: createOptimizer([w], config) };
      };
      const a = make();
      const grad = (t: number): tf.Tensor => tf.tensor2d([GRADS[t % 3], GRADS[(t + 1) % 3]]);
      const step = (o: Optimizer, t: number): void => {
        const g = grad(t);
        o.apply([g], LRS[t % 3]);
        g.dispose();
      };
      for (let t = 0; t < 3; t++) step(a.opt, t);
      const state = await a.opt.getState();
      const weights = a.w.dataSync().slice();
      expect(state.iterations).toBe(3);

      const b = make();
      tf.tidy(() => b.w.assign(tf.tensor2d(weights, [2, 3])));
      b.opt.setState(state);
      expect(b.opt.iterations).toBe(3);
      const before = tf.memory().numTensors;
      for (let t = 3; t < 6; t++) {
        step(a.opt, t);
        step(b.opt, t);
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(Array.from(b.w.dataSync())).toEqual(Array.from(a.w.dataSync()));
      expect(await b.opt.getState()).toEqual(await a.opt.getState());

      const other =
        config.kind === 'sgd' ? new AdamOptimizer([b.w]) : new SgdOptimizer([b.w], { momentum: 0.9 });
      expect(() => other.setState(state)).toThrow(/Optimizer state is for/);
      const small = tf.variable(tf.zeros([4]));
      const shapes = createOptimizer([small], config);
      expect(() => shapes.setState(state)).toThrow(/has 6 values, expected 4/);
      [a, b].forEach(({ w, opt }) => {
        opt.dispose();
        w.dispose();
      });
      other.dispose();
      shapes.dispose();
      small.dispose();
    });
  }
});
