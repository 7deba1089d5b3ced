import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Classifier } from '../../models/classifier.js';
import { ADVKIT_MODEL_FORMAT } from '../../models/metadata.js';
import { ADVKIT_VERSION } from '../../version.js';

/** Small models with known answers for the attribution tests (tests only). */

function classifierOf(
  net: tfl.LayersModel,
  inputShape: [number, number, number],
  numClasses: number,
  bounds: [number, number],
): Classifier {
  return new Classifier(net, {
    format: ADVKIT_MODEL_FORMAT,
    advkitVersion: ADVKIT_VERSION,
    architecture: 'external',
    inputShape,
    bounds,
    preprocessing: {},
    classNames: Array.from({ length: numClasses }, (_, i) => `class${i}`),
  });
}

/** logits = flatten(x) @ w + b: w [h*w*c, k] (row-major HWC), the class-t saliency is column t of w. */
export function linearModel(
  inputShape: [number, number, number],
  w: Float32Array,
  b: Float32Array,
  bounds: [number, number] = [0, 1],
): Classifier {
  const d = inputShape[0] * inputShape[1] * inputShape[2];
  const k = b.length;
  const net = tfl.sequential({
    layers: [tfl.layers.flatten({ inputShape }), tfl.layers.dense({ units: k, name: 'logits' })],
  });
  net.layers[1].setWeights([tf.tensor2d(w, [d, k]), tf.tensor1d(b)]);
  return classifierOf(net, inputShape, k, bounds);
}

/** Deterministic weights in [-1, 1]. */
export function sineWeights(length: number, phase = 0): Float32Array {
  return Float32Array.from({ length }, (_, i) => Math.sin(1.7 * i + phase));
}

/**
 * x -> ReLU(1x1 conv with one filter of weight 1) -> global average pooling -> dense(2) with weights [1, -1]:
 * the last (and only) convolution has one channel that copies the input, so Grad-CAM of class 0 is the input
 * itself (its only channel weight is positive), normalized.
 */
export function oneChannelCamModel(size: number): Classifier {
  const inputShape: [number, number, number] = [size, size, 1];
  const net = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape, filters: 1, kernelSize: 1, activation: 'relu', name: 'copy' }),
      tfl.layers.globalAveragePooling2d({ name: 'pool' }),
      tfl.layers.dense({ units: 2, name: 'logits' }),
    ],
  });
  net.getLayer('copy').setWeights([tf.ones([1, 1, 1, 1]), tf.zeros([1])]);
  net.getLayer('logits').setWeights([tf.tensor2d([1, -1], [1, 2]), tf.zeros([2])]);
  return classifierOf(net, inputShape, 2, [0, 1]);
}

/**
 * Like oneChannelCamModel, with a 2x2 average pooling after the copy: Grad-CAM's layer is the pooling's output,
 * half the input's size, so its map is upsampled.
 */
export function pooledCamModel(size: number): Classifier {
  const inputShape: [number, number, number] = [size, size, 1];
  const net = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape, filters: 1, kernelSize: 1, activation: 'relu', name: 'copy' }),
      tfl.layers.averagePooling2d({ poolSize: 2, name: 'pool' }),
      tfl.layers.globalAveragePooling2d({ name: 'gap' }),
      tfl.layers.dense({ units: 2, name: 'logits' }),
    ],
  });
  net.getLayer('copy').setWeights([tf.ones([1, 1, 1, 1]), tf.zeros([1])]);
  net.getLayer('logits').setWeights([tf.tensor2d([1, -1], [1, 2]), tf.zeros([2])]);
  return classifierOf(net, inputShape, 2, [0, 1]);
}

/**
 * A small smooth CNN (tanh, so finite differences are meaningful) with seeded weights:
 * conv 3x3 (4 filters) -> tanh -> conv 3x3 (4) -> tanh -> flatten -> dense(3).
 */
export function smoothCnn(size = 6, channels = 2, seed = 1): Classifier {
  const inputShape: [number, number, number] = [size, size, channels];
  const init = (s: number) => tfl.initializers.glorotNormal({ seed: seed + s });
  const net = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape,
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        activation: 'tanh',
        kernelInitializer: init(0),
        name: 'conv1',
      }),
      tfl.layers.conv2d({
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        activation: 'tanh',
        kernelInitializer: init(1),
        name: 'conv2',
      }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3, kernelInitializer: init(2), name: 'logits' }),
    ],
  });
  return classifierOf(net, inputShape, 3, [0, 1]);
}

/** n seeded inputs uniform in [lo, hi]. */
export function uniformInputs(
  n: number,
  shape: readonly [number, number, number],
  seed = 3,
  lo = 0,
  hi = 1,
): tf.Tensor4D {
  return tf.randomUniform([n, ...shape], lo, hi, 'float32', seed) as tf.Tensor4D;
}
