import * as tf from '@tensorflow/tfjs-core';
import { GraphModel } from '@tensorflow/tfjs-converter';
import { AdvkitError } from '../errors.js';
import type { Classifier } from '../models/classifier.js';

/**
 * Every variable of a classifier's network, trainable or not (batch-norm moving statistics too), in the
 * network's own order. Graph models hold constants, not variables, and cannot be trained.
 */
export function allModelVariables(classifier: Classifier): tf.Variable[] {
  const net = classifier.net;
  if (net instanceof GraphModel) {
    throw new AdvkitError(
      'UNSUPPORTED',
      'This model is a frozen graph model (its weights are constants); only layers models can be trained.',
    );
  }
  return net.weights.map((w) => {
    const v = w.read();
    if (!(v instanceof tf.Variable)) {
      throw new AdvkitError('INTERNAL', `Layer weight '${w.name}' is not backed by a tf.Variable.`);
    }
    return v;
  });
}

export async function readWeights(variables: readonly tf.Variable[]): Promise<Float32Array[]> {
  return Promise.all(variables.map(async (v) => Float32Array.from(await v.data<'float32'>())));
}

/** Writes values read by readWeights back; the caller has checked that the shapes match. */
export function writeWeights(variables: readonly tf.Variable[], values: readonly Float32Array[]): void {
  variables.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(values[i], v.shape, 'float32'))));
}
