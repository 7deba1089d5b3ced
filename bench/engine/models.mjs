// The reference CNNs of ../../shared/bench/torch_baseline.py, in NHWC with tfjs-layers.
import * as tfl from '@tensorflow/tfjs-layers';

/** Madry et al. MNIST challenge CNN: conv5x5-32, pool, conv5x5-64, pool, fc1024, fc10 (same padding). */
export function madryMnist() {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 32,
        kernelSize: 5,
        padding: 'same',
        activation: 'relu',
      }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 64, kernelSize: 5, padding: 'same', activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 1024, activation: 'relu' }),
      tfl.layers.dense({ units: 10 }),
    ],
  });
}

/** Small CIFAR CNN: 3x3 same convs 32-32, pool, 64-64, pool, fc256, fc10. */
export function smallCifar() {
  const conv = (filters, extra = {}) =>
    tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', ...extra });
  return tfl.sequential({
    layers: [
      conv(32, { inputShape: [32, 32, 3] }),
      conv(32),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      conv(64),
      conv(64),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 256, activation: 'relu' }),
      tfl.layers.dense({ units: 10 }),
    ],
  });
}

export const MODELS = {
  mnist_cnn: { build: madryMnist, shape: [28, 28, 1], eps: 0.3 },
  cifar_small_cnn: { build: smallCifar, shape: [32, 32, 3], eps: 8 / 255 },
};
