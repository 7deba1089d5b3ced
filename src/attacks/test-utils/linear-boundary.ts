import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initNodeBackend } from '../../backend/node-backend.js';
import type { Classifier } from '../../models/classifier.js';
import { createClassifier } from '../../models/create-classifier.js';
import { Rng } from '../../util/rng.js';

export interface LinearBoundary {
  classifier: Classifier;
  /** One input per requested distance, all of class 0. */
  x: tf.Tensor4D;
  labels: Int32Array;
  dispose(): void;
}

/**
 * A closed-form test bed for attacks: a two-class linear classifier (the 'linear' architecture, seeded) and
 * inputs placed at exactly the given distance from its decision boundary w.x + b = 0 (w, b the differences of
 * the two classes' weights and biases). For Linf the minimal adversarial perturbation is -dist * sign(w) (dist
 * = margin / ||w||_1); for L2 it is -dist * w / ||w||_2 (dist = margin / ||w||_2). Inputs sit near the middle
 * of [0, 1] so that the bounds do not bind for distances up to about 0.1 (Linf) or 1 (L2).
 */
export async function linearBoundary(opts: {
  inputShape: [number, number, number];
  distances: readonly number[];
  norm: 'linf' | 'l2';
  seed: number;
}): Promise<LinearBoundary> {
  await initNodeBackend();
  const classifier = createClassifier('linear', {
    inputShape: opts.inputShape,
    numClasses: 2,
    seed: opts.seed,
  });
  const net = classifier.net;
  if (!(net instanceof tfl.LayersModel)) throw new Error('The linear architecture should be a LayersModel.');
  const [kernel, bias] = net.getWeights().map((t) => t.dataSync());
  const d = kernel.length / 2;
  const w = Float64Array.from({ length: d }, (_, j) => kernel[2 * j] - kernel[2 * j + 1]);
  const b = bias[0] - bias[1];
  const dual = opts.norm === 'linf' ? w.reduce((s, v) => s + Math.abs(v), 0) : Math.hypot(...w);
  const direction = Float64Array.from(w, (v) => (opts.norm === 'linf' ? Math.sign(v) : v / dual));
  const rng = new Rng(opts.seed);
  const values = new Float32Array(opts.distances.length * d);
  opts.distances.forEach((dist, i) => {
    const centre = Float64Array.from({ length: d }, () => 0.4 + 0.2 * rng.next());
    const margin = centre.reduce((s, v, j) => s + v * w[j], b);
    // Moving by beta along the direction changes the margin by beta * dual.
    const beta = dist - margin / dual;
    for (let j = 0; j < d; j++) values[i * d + j] = centre[j] + beta * direction[j];
  });
  const x = tf.tensor4d(values, [opts.distances.length, ...opts.inputShape]);
  return {
    classifier,
    x,
    labels: new Int32Array(opts.distances.length),
    dispose: () => {
      x.dispose();
      classifier.dispose();
    },
  };
}
