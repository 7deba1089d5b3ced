import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError } from '../errors.js';

/** What a non-finite value is, as a message names it. */
type NonFinite = 'NaN' | 'Infinity';

function classify(v: number): NonFinite | undefined {
  if (Number.isNaN(v)) return 'NaN';
  return Number.isFinite(v) ? undefined : 'Infinity';
}

function firstNonFiniteFloat32(bytes: ArrayBuffer): NonFinite | undefined {
  const values = new Float32Array(bytes);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) return classify(values[i]);
  }
  return undefined;
}

/** float16 Inf and NaN have all five exponent bits set; a non-zero mantissa makes it NaN. */
function firstNonFiniteFloat16(bytes: ArrayBuffer): NonFinite | undefined {
  const halves = new Uint16Array(bytes);
  for (let i = 0; i < halves.length; i++) {
    if ((halves[i] & 0x7c00) === 0x7c00) return (halves[i] & 0x03ff) === 0 ? 'Infinity' : 'NaN';
  }
  return undefined;
}

/** Bytes of a string weight: each element is a little-endian uint32 length and that many bytes. */
function stringBytes(data: tf.io.CompositeArrayBuffer, offset: number, count: number): number {
  let end = offset;
  for (let i = 0; i < count; i++) {
    const length = new DataView(data.slice(end, end + 4)).getUint32(0, true);
    end += 4 + length;
  }
  return end - offset;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/** The non-finite value a weight tensor holds, if any, and how many bytes it takes in the weight data. */
function scan(
  spec: tf.io.WeightsManifestEntry,
  data: tf.io.CompositeArrayBuffer,
  offset: number,
): { bad?: NonFinite; bytes: number } {
  const count = spec.shape.reduce((a, d) => a * d, 1);
  if (spec.dtype === 'string') return { bytes: stringBytes(data, offset, count) };
  const q = spec.quantization;
  const storedAs = q?.dtype ?? spec.dtype;
  const bytes = count * (BYTES[storedAs] ?? 0);
  if (count === 0) return { bytes };
  if (q !== undefined && q.dtype !== 'float16') {
    // Integer codes dequantize to code * scale + min: finite whenever scale and min are.
    return { bad: classify(q.scale ?? 0) ?? classify(q.min ?? 0), bytes };
  }
  if (storedAs === 'float16') return { bad: firstNonFiniteFloat16(data.slice(offset, offset + bytes)), bytes };
  if (storedAs === 'float32' || storedAs === 'complex64') {
    return { bad: firstNonFiniteFloat32(data.slice(offset, offset + bytes)), bytes };
  }
  return { bytes };
}

/**
 * Refuses model weights that hold NaN or Infinity, naming the first such tensor (CORRUPT_DATA): such a
 * network outputs NaN for every input, and every accuracy computed from it is meaningless. One pass over the
 * weight bytes, before the network is built.
 */
export function checkFiniteWeights(artifacts: tf.io.ModelArtifacts, source: string): void {
  const specs = artifacts.weightSpecs ?? [];
  if (specs.length === 0 || artifacts.weightData === undefined) return;
  const data = new tf.io.CompositeArrayBuffer(artifacts.weightData);
  let offset = 0;
  for (const spec of specs) {
    const { bad, bytes } = scan(spec, data, offset);
    if (bad !== undefined) {
      throw new AdvkitError(
        'CORRUPT_DATA',
        `${source}: the model weights contain ${bad} in '${spec.name}': the model file is corrupt or its training ` +
          'diverged. Re-export or retrain the model.',
        { file: source, weight: spec.name },
      );
    }
    offset += bytes;
  }
}
