import * as tf from '@tensorflow/tfjs-core';
import { batchIndices } from '../data/batching.js';
import { toTensors, type ImageDataset } from '../data/dataset.js';
import { invalidArgument } from '../errors.js';
import type { Classifier } from '../models/classifier.js';

/** Throws INVALID_ARGUMENT when the images or labels of `data` cannot go through `classifier`. */
export function assertDataFitsClassifier(classifier: Classifier, data: ImageDataset): void {
  const [h, w, c] = classifier.inputShape;
  if (data.height !== h || data.width !== w || data.channels !== c) {
    throw invalidArgument(
      `Dataset '${data.name}' (${data.split}) has ${data.height}x${data.width}x${data.channels} images but the model expects ${h}x${w}x${c}.`,
    );
  }
  if (data.classNames.length > classifier.numClasses) {
    throw invalidArgument(
      `Dataset '${data.name}' (${data.split}) has ${data.classNames.length} classes but the model has ${classifier.numClasses} outputs.`,
    );
  }
  if (data.count === 0) throw invalidArgument(`Dataset '${data.name}' (${data.split}) is empty.`);
}

/** Fraction of `data` whose top logit is the true label; inference mode, in batches of `batchSize`. */
export async function evaluateAccuracy(
  classifier: Classifier,
  data: ImageDataset,
  batchSize = 256,
): Promise<number> {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw invalidArgument(`batchSize must be a positive integer, got ${batchSize}.`);
  }
  assertDataFitsClassifier(classifier, data);
  let correct = 0;
  for (const indices of batchIndices(data.count, { batchSize })) {
    const hits = tf.tidy(() => {
      const { x, y } = toTensors(data, indices);
      return tf.sum(tf.cast(tf.equal(tf.argMax(classifier.logits(x), 1), y), 'int32'));
    });
    correct += (await hits.data())[0];
    hits.dispose();
  }
  return correct / data.count;
}
