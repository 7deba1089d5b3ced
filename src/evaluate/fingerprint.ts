import * as tf from '@tensorflow/tfjs-core';
import type { Classifier } from '../models/classifier.js';

/**
 * sha256 fingerprints that identify what was evaluated, with WebCrypto (Node >= 20 and browsers): the inputs as
 * float32 bytes followed by the labels as int32 bytes, and a model's weights in layer order.
 */
export async function datasetSha256(x: tf.Tensor, labels: Int32Array): Promise<string> {
  const values = (await x.data()) as Float32Array;
  return sha256Hex([bytesOf(values), bytesOf(labels)]);
}

export async function modelSha256(classifier: Classifier): Promise<string> {
  const parts: Uint8Array[] = [];
  for (const w of weightsOf(classifier)) parts.push(bytesOf((await w.data()) as Float32Array));
  return sha256Hex(parts);
}

function weightsOf(classifier: Classifier): tf.Tensor[] {
  const net = classifier.net;
  if ('getWeights' in net) return net.getWeights();
  return Object.keys(net.weights)
    .sort()
    .flatMap((name) => net.weights[name]);
}

function bytesOf(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

async function sha256Hex(parts: readonly Uint8Array[]): Promise<string> {
  const total = parts.reduce((s, p) => s + p.byteLength, 0);
  const joined = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    joined.set(p, at);
    at += p.byteLength;
  }
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', joined));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
