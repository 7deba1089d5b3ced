import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError } from '../errors.js';
import type { ActivationLayer, ModelActivations } from '../models/layer-access.js';
import type { Model } from '../models/model.js';
import { field } from '../util/schema.js';
import { defineMethod, type AttributionContext, type InputDetails } from './types.js';

/** Methods that need no activations, for messages that say what can be used instead. */
const WITHOUT_ACTIVATIONS = 'saliency, gradient-x-input, smoothgrad, smoothgrad-sq, ig or occlusion';

/** The model's activations, or why Grad-CAM cannot run on it. */
export function activationsOf(model: Model, method: string): ModelActivations {
  if (model.activations === undefined) {
    throw new AdvkitError(
      'UNSUPPORTED',
      `${method} needs the model's intermediate activations, which this model does not expose (a black-box or ` +
        `wrapped model). Use ${WITHOUT_ACTIVATIONS}.`,
    );
  }
  return model.activations;
}

/** The layer named by the caller, or the last 4-D activation before the global pooling or flatten. */
export function camLayer(model: Model, name: string | undefined, method: string): ActivationLayer {
  const activations = activationsOf(model, method);
  if (name !== undefined) return activations.layer(name);
  const layer = activations.defaultLayer();
  if (layer === undefined) {
    throw new AdvkitError(
      'UNSUPPORTED',
      `${method} needs a 4-D activation (convolutional feature maps) before the model's global pooling or ` +
        `flatten, and this model has none: it flattens its input (a linear model or an MLP). Use ${WITHOUT_ACTIVATIONS}.`,
    );
  }
  return layer;
}

/** Per row: the map divided by its largest absolute value; an all-zero map stays zero and is flagged. */
function normalizeRows(cam: tf.Tensor3D): { maps: tf.Tensor3D; peaks: Float32Array } {
  const peak = tf.tidy(() => tf.max(tf.abs(tf.reshape(cam, [cam.shape[0], -1])), 1));
  const maps = tf.tidy(() => {
    const safe = tf.where(tf.greater(peak, 0), peak, tf.onesLike(peak));
    return tf.div<tf.Tensor3D>(cam, tf.reshape(safe, [-1, 1, 1]));
  });
  const peaks = peak.dataSync() as Float32Array;
  peak.dispose();
  return { maps, peaks };
}

/**
 * Grad-CAM (Selvaraju, Cogswell, Das, Vedantam, Parikh & Batra 2017, "Grad-CAM: Visual Explanations from Deep
 * Networks via Gradient-based Localization"): the channel weights are the spatial mean of the target logit's
 * gradient with respect to a layer's activation A, the map is ReLU(sum_k weight_k A_k), upsampled bilinearly (half-pixel centres) to
 * the input size and divided by its maximum (an all-zero map stays zero and is reported). The layer is the last
 * 4-D activation before the global pooling or flatten (works on functional graphs and graph models), or the one
 * named by `layer`. Maps [n, h, w] in [0, 1]. Details per input: layer, peak (the map's maximum before
 * normalization), zeroMap.
 *
 * @example explain(model, gradCam, { x, layer: 'conv2_relu' })
 */
export const gradCam = defineMethod({
  name: 'gradcam',
  title: 'Grad-CAM (Selvaraju et al. 2017)',
  output: 'spatial',
  access: 'activations',
  schema: {
    relu: field.boolean({
      default: true,
      description: 'keep only the positive evidence (the paper); false keeps the signed map (Captum default)',
    }),
  },
  run: (ctx: AttributionContext, p) => {
    const layer = camLayer(ctx.model, ctx.layer, 'gradcam');
    const activations = activationsOf(ctx.model, 'gradcam');
    const [n, height, width] = ctx.x.shape;
    let activation: tf.Tensor4D | undefined;
    const onehot = tf.tidy(() => tf.oneHot(tf.tensor1d(ctx.targets, 'int32'), ctx.model.numClasses));
    const delta = tf.zeros([n, ...layer.shape]);
    const grad = tf.grad((d: tf.Tensor) => {
      const logits = activations.logits(ctx.x, layer.name, (a) => {
        activation = tf.keep(a);
        return tf.add(a, d);
      });
      return tf.sum(tf.mul(logits, onehot));
    })(delta);
    ctx.count({ gradients: n, queries: n });
    if (activation === undefined) throw new AdvkitError('INTERNAL', `Layer '${layer.name}' was not reached.`);
    const a = activation;
    const cam = tf.tidy(() => {
      const weights = tf.mean(grad, [1, 2], true);
      const weighted = tf.sum(tf.mul(a, weights), 3);
      const map = p.relu ? tf.relu(weighted) : weighted;
      // Half-pixel centres, as PyTorch, OpenCV and TensorFlow 2 upsample: tfjs's default shifts the map by half a cell.
      const up = tf.image.resizeBilinear(tf.expandDims(map, 3) as tf.Tensor4D, [height, width], false, true);
      return tf.squeeze(up, [3]) as tf.Tensor3D;
    });
    tf.dispose([a, onehot, delta, grad]);
    const { maps, peaks } = normalizeRows(cam);
    cam.dispose();
    const details: InputDetails[] = Array.from(peaks, (peak) => ({
      layer: layer.name,
      peak,
      zeroMap: peak === 0,
    }));
    return Promise.resolve({ maps, details });
  },
});
