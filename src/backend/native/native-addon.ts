/**
 * The functions of advkit's native addon (`native/advkit_native.cc`): oneDNN kernels working in place on
 * float32 buffers laid out as tfjs holds them. Browser-safe (types only); `load-native-node.ts` loads it.
 */
export interface NativeAddon {
  /** y = act(conv(x, filter) + bias); geometry as `convGeometry` builds it. */
  convForward(
    x: Float32Array,
    filter: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    geometry: number[],
    activation: number,
    alpha: number,
  ): void;
  /** dx of a convolution, from dy and the filter. */
  convBackwardData(dy: Float32Array, filter: Float32Array, dx: Float32Array, geometry: number[]): void;
  /** dfilter of a convolution, from x and dy, in tfjs's filter layout (HWIO, or HWCM for depthwise). */
  convBackwardFilter(x: Float32Array, dy: Float32Array, dfilter: Float32Array, geometry: number[]): void;
  /**
   * c[...batch, M, N] = act(op(a) op(b) + bias); batchA and batchB are the operands' batch dimensions (equal
   * length; each equal to the other's or 1); dims [M, K, N, transposeA, transposeB].
   */
  matMul(
    a: Float32Array,
    b: Float32Array,
    bias: Float32Array | null,
    c: Float32Array,
    batchA: number[],
    batchB: number[],
    dims: number[],
    activation: number,
    alpha: number,
  ): void;
  /**
   * dx of max pooling: dy to each window's first maximum; geometry [N, H, W, C, OH, OW, FH, FW, SH, SW, PT, PL]
   * with the effective (dilated) window.
   */
  maxPoolBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, geometry: number[]): void;
  /** max pooling, one thread per image; geometry as for maxPoolBackward. */
  maxPoolForward(x: Float32Array, y: Float32Array, geometry: number[]): void;
  /**
   * out = a op b (op 0 add, 1 sub, 2 mul); dims [n, mode, inner]: mode 0 same shape, 1 b repeats every `inner`
   * elements of a, 2 a repeats along b.
   */
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, dims: number[]): void;
  /** op 0 relu, 1 step (x > 0 ? 1 : alpha), 2 sign, over n elements. */
  unary(op: number, x: Float32Array, out: Float32Array, n: number, alpha: number): void;
  /** out[c] = scale * sum over r of x[r * cols + c]. */
  sumRows(x: Float32Array, out: Float32Array, rows: number, cols: number, scale: number): void;
  /** out = x * scale[c] + shift[c] along the last axis of `channels`; n elements in all. */
  channelAffine(
    x: Float32Array,
    scale: Float32Array,
    shift: Float32Array,
    out: Float32Array,
    n: number,
    channels: number,
  ): void;
  setThreads(threads: number): void;
  info(): NativeAddonInfo;
  clearCache(): void;
}

export interface NativeAddonInfo {
  onednn: string;
  /** The instruction set oneDNN's kernels use on this CPU (e.g. avx512_core). */
  isa: string;
  threads: number;
  cachedPrimitives: number;
}

/** tfjs's fused activations, coded as the addon expects them; prelu is not fused (its weights vary). */
export const NATIVE_ACTIVATIONS: Readonly<Record<string, number>> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  elu: 3,
  sigmoid: 4,
  leakyrelu: 5,
};
