import * as tf from '@tensorflow/tfjs-core';
import { defineMethod } from '../../types.js';

/**
 * A "method" built to fail the model-parameter randomization test: the Sobel gradient magnitude of the input
 * (averaged over its channels), which never looks at the model. Adebayo et al. (2018) showed that an edge
 * detector produces maps much like some attribution methods'; a sanity check must flag it.
 */
export const edgeDetector = defineMethod({
  name: 'edge-detector',
  title: 'Sobel edge detector (ignores the model; a test fixture)',
  output: 'spatial',
  access: 'queries',
  schema: {},
  run: (ctx) => {
    const maps = tf.tidy(() => {
      const grey = tf.mean(ctx.x, 3, true) as tf.Tensor4D;
      const sobelX = tf.tensor4d([-1, 0, 1, -2, 0, 2, -1, 0, 1], [3, 3, 1, 1]);
      const sobelY = tf.tensor4d([-1, -2, -1, 0, 0, 0, 1, 2, 1], [3, 3, 1, 1]);
      const gx = tf.conv2d(grey, sobelX, 1, 'same');
      const gy = tf.conv2d(grey, sobelY, 1, 'same');
      return tf.squeeze(tf.sqrt(tf.add(tf.square(gx), tf.square(gy))), [3]);
    });
    return Promise.resolve({ maps });
  },
});
