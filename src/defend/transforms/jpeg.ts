import * as tf from '@tensorflow/tfjs-core';
import { bpdaIdentity, checkInteger, type Transform } from './transform.js';

/**
 * The quantization tables of the JPEG standard (ITU-T T.81, Annex K, Tables K.1 and K.2), row by row over the
 * 8x8 frequencies (not zig-zag): the tables libjpeg (IJG) scales by its quality setting.
 */
const LUMINANCE_TABLE = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22,
  29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103,
  121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMINANCE_TABLE = [
  17,
  18,
  24,
  47,
  99,
  99,
  99,
  99,
  18,
  21,
  26,
  66,
  99,
  99,
  99,
  99,
  24,
  26,
  56,
  99,
  99,
  99,
  99,
  99,
  47,
  66,
  99,
  99,
  99,
  99,
  99,
  99,
  ...new Array<number>(32).fill(99),
];

/**
 * JPEG compression and decompression at `quality` (1 to 100, libjpeg's scale), the input transform of Guo, Rana,
 * Cisse & van der Maaten 2018 ("Countering Adversarial Images using Input Transformations") and of Das et al.
 * 2017, written in tensor ops: RGB -> YCbCr (JFIF), 8x8 blocks (edges replicated up to a multiple of 8, as libjpeg
 * does), the orthonormal 2-D DCT as one 64x64 matrix product, quantization by the standard tables scaled by the
 * quality (T.81 Annex K, IJG scaling), rounding, dequantization, inverse DCT, YCbCr -> RGB, and rounding to bytes
 * as a decoder does. Not like a file: no chroma subsampling (4:4:4, as libjpeg at high quality; common encoders
 * halve the chroma resolution below it) and no entropy coding (lossless, so it changes nothing). Images with one
 * channel use the luminance table; other channel counts are compressed channel by channel with it. Quality 100
 * quantizes by 1: only the rounding of coefficients and bytes remains. Rounding has a zero gradient, so the
 * backward pass is BPDA's identity (Athalye, Carlini & Wagner 2018, Section 5.2.3, who break JPEG with it).
 * Example: `jpeg(75)`.
 */
export function jpeg(quality: number): Transform {
  checkInteger('jpeg quality', quality, 1, 100);
  const luminance = scaledTable(LUMINANCE_TABLE, quality);
  const chrominance = scaledTable(CHROMINANCE_TABLE, quality);
  return {
    name: 'jpeg',
    params: { quality },
    spec: `jpeg:${quality}`,
    differentiable: false,
    random: false,
    apply(x, { bounds: [lo, hi] }) {
      const c = x.shape[3];
      const tables = c === 3 ? [luminance, chrominance, chrominance] : new Array<number[]>(c).fill(luminance);
      const forward = bpdaIdentity((input) =>
        tf.tidy(() => {
          const bytes = tf.mul(tf.div(tf.sub(input, lo), hi - lo), 255) as tf.Tensor4D;
          const shifted =
            c === 3 ? colorTransform(bytes, RGB_TO_YCBCR, [-128, 0, 0]) : tf.sub<tf.Tensor4D>(bytes, 128);
          const decoded = compressBlocks(shifted, tables);
          const pixels =
            c === 3
              ? colorTransform(decoded, YCBCR_TO_RGB, [128, 128, 128])
              : tf.add<tf.Tensor4D>(decoded, 128);
          const rounded = tf.clipByValue(tf.round(pixels), 0, 255);
          return tf.add(tf.mul(tf.div(rounded, 255), hi - lo), lo) as tf.Tensor4D;
        }),
      );
      return forward(x);
    },
  };
}

/** libjpeg's quality scaling of a base table: 5000 / q percent below 50, 200 - 2q above, entries in [1, 255]. */
export function scaledTable(base: readonly number[], quality: number): number[] {
  const scale = quality < 50 ? Math.floor(5000 / quality) : 200 - 2 * quality;
  return base.map((t) => Math.min(255, Math.max(1, Math.floor((t * scale + 50) / 100))));
}

/** JFIF's YCbCr (ITU-R BT.601, full range); Cb and Cr are centred on 128, which the offsets handle. */
const RGB_TO_YCBCR = [
  [0.299, 0.587, 0.114],
  [-0.168736, -0.331264, 0.5],
  [0.5, -0.418688, -0.081312],
];
const YCBCR_TO_RGB = [
  [1, 0, 1.402],
  [1, -0.344136, -0.714136],
  [1, 1.772, 0],
];

/** Per pixel: matrix @ [c0, c1, c2] + offset. */
function colorTransform(x: tf.Tensor4D, matrix: number[][], offset: number[]): tf.Tensor4D {
  const flat = tf.reshape<tf.Rank.R2>(x, [-1, 3]);
  const mixed = tf.add(tf.matMul(flat, tf.tensor2d(matrix), false, true), tf.tensor1d(offset));
  return tf.reshape(mixed, x.shape);
}

/** The 8x8 orthonormal DCT-II matrix D (row u: frequency u), so that coefficients = D B D^T for a block B. */
function dctMatrix(): number[][] {
  return Array.from({ length: 8 }, (_, u) =>
    Array.from(
      { length: 8 },
      (_, i) => (u === 0 ? Math.sqrt(1 / 8) : 0.5) * Math.cos(((2 * i + 1) * u * Math.PI) / 16),
    ),
  );
}

/** K [64, 64] = D (x) D: the block's 2-D DCT on its 64 values row by row, coefficients in the same order. */
function blockDct(): tf.Tensor2D {
  const d = dctMatrix();
  const k = new Float32Array(64 * 64);
  for (let u = 0; u < 8; u++) {
    for (let v = 0; v < 8; v++) {
      for (let i = 0; i < 8; i++) {
        for (let j = 0; j < 8; j++) k[(u * 8 + v) * 64 + i * 8 + j] = d[u][i] * d[v][j];
      }
    }
  }
  return tf.tensor2d(k, [64, 64]);
}

/** Repeats the last row (axis 1) or column (axis 2) until the side is a multiple of 8. */
function padToBlocks(x: tf.Tensor4D, axis: 1 | 2): tf.Tensor4D {
  const side = x.shape[axis];
  const extra = (8 - (side % 8)) % 8;
  if (extra === 0) return x;
  const begin = [0, 0, 0, 0];
  const size = [...x.shape] as number[];
  begin[axis] = side - 1;
  size[axis] = 1;
  const edge = tf.slice(x, begin, size);
  const reps = [1, 1, 1, 1];
  reps[axis] = extra;
  return tf.concat([x, tf.tile(edge, reps)], axis);
}

/** Level-shifted channels [n, h, w, c] -> DCT, quantize by tables[c], dequantize, inverse DCT (same shape). */
function compressBlocks(x: tf.Tensor4D, tables: number[][]): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const padded = padToBlocks(padToBlocks(x, 1), 2);
  const bh = padded.shape[1] / 8;
  const bw = padded.shape[2] / 8;
  // [n*bh, 8, bw, 8, c] -> [n*bh, bw, c, 8, 8] -> [blocks, c, 64].
  const blocks = tf.reshape(
    tf.transpose(tf.reshape(padded, [n * bh, 8, bw, 8, c]), [0, 2, 4, 1, 3]),
    [-1, 64],
  );
  const k = blockDct();
  const q = tf.tensor2d(tables.flat(), [c, 64]);
  const coefficients = tf.reshape(tf.matMul(blocks, k, false, true), [-1, c, 64]);
  const quantized = tf.mul(tf.round(tf.div(coefficients, q)), q);
  const restored = tf.matMul(tf.reshape<tf.Rank.R2>(quantized, [-1, 64]), k);
  const image = tf.reshape<tf.Rank.R4>(
    tf.transpose(tf.reshape(restored, [n * bh, bw, c, 8, 8]), [0, 3, 1, 4, 2]),
    [n, bh * 8, bw * 8, c],
  );
  return tf.slice(image, [0, 0, 0, 0], [n, h, w, c]);
}
