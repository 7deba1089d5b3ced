import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '../backend/backend.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.js';
import { apgdObjective } from './apgd-loss.js';
import { sortedLogits } from './losses.js';
import { attackLoss, attackObjective } from './losses.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const rng = new Rng(3);
const logits = tf.tensor2d(
  Array.from({ length: 5 }, () => Array.from({ length: 10 }, () => 4 * rng.normal())),
);
const labels = tf.tensor1d([0, 3, 9, 5, 1], 'int32');
const targets = tf.tensor1d([4, 0, 2, 5, 7], 'int32');
const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());

describe('apgd: losses', () => {
  it('sorted logits: the largest first, repeating the last class when there are fewer classes', () => {
    const z = tf.tensor2d([
      [3, 1, 0, -1],
      [0, 2, 5, 1],
    ]);
    expect(sortedLogits(z, 4).map(values)).toEqual([
      [3, 5],
      [1, 2],
      [0, 1],
      [-1, 0],
    ]);
    expect(sortedLogits(tf.tensor2d([[2, 7]]), 3).map(values)).toEqual([[7], [2], [2]]);
  });

  it("DLR and targeted DLR equal losses.ts's; 'ce' is attackObjective's", () => {
    for (const t of [null, targets]) {
      const ours = values(apgdObjective('dlr', logits, labels, t));
      const theirs = values(attackLoss('dlr', logits, labels, { targets: t }));
      ours.forEach((v, i) => expect(v).toBeCloseTo(theirs[i], 5));
      expect(values(apgdObjective('ce', logits, labels, t))).toEqual(
        values(attackObjective('ce', logits, labels, { targets: t })),
      );
    }
  });

  it('DLR has the gradient of its formula (finite differences)', () => {
    for (const t of [null, targets]) {
      const f = (z: tf.Tensor): tf.Scalar => tf.sum(apgdObjective('dlr', z as tf.Tensor2D, labels, t));
      const grad = tf.grad(f)(logits).arraySync() as number[][];
      const z = logits.arraySync();
      const h = 1e-2;
      for (const [i, j] of [
        [0, 0],
        [1, 3],
        [2, 2],
        [3, 7],
        [4, 1],
      ]) {
        const shifted = (d: number): number => {
          const copy = z.map((row) => [...row]);
          copy[i][j] += d;
          return f(tf.tensor2d(copy)).dataSync()[0];
        };
        expect(grad[i][j]).toBeCloseTo((shifted(h) - shifted(-h)) / (2 * h), 2);
      }
    }
  });
});
