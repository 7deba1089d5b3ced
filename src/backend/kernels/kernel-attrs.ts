import {
  backend_util,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { AdvkitError } from '../../errors.js';

type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Shape4 = [number, number, number, number];

/** A kernel input by name (tfjs types them as possibly missing). */
export function input(kernel: string, inputs: NamedTensorInfoMap, name: string): TensorInfo {
  const value = inputs[name];
  if (value === undefined) throw new AdvkitError('INTERNAL', `${kernel}: missing input '${name}'.`);
  return value;
}

/** Typed reads of the attributes tfjs passes to convolution and pooling kernels. */
export interface ConvAttrs {
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: Pad;
  dimRoundingMode: Rounding;
}

export function convAttrs(kernel: string, attrs: NamedAttrMap | undefined): ConvAttrs {
  if (attrs === undefined) throw new AdvkitError('INTERNAL', `${kernel}: missing attributes.`);
  const format = attrs.dataFormat;
  if (format !== undefined && format !== 'NHWC' && format !== 'channelsLast') {
    throw new AdvkitError(
      'UNSUPPORTED',
      `${kernel} on wasm supports NHWC only, got dataFormat '${String(format)}'.`,
    );
  }
  return {
    strides: attrs.strides as number | [number, number],
    dilations: (attrs.dilations ?? 1) as number | [number, number],
    pad: attrs.pad as Pad,
    dimRoundingMode: attrs.dimRoundingMode as Rounding,
  };
}

export function shape4(kernel: string, name: string, value: unknown): Shape4 {
  if (!Array.isArray(value) || value.length !== 4 || !value.every((v) => typeof v === 'number')) {
    throw new AdvkitError('INTERNAL', `${kernel}: attribute ${name} must be a rank-4 shape.`);
  }
  return [value[0], value[1], value[2], value[3]];
}

export function convInfo(
  xShape: Shape4,
  filterShape: Shape4,
  attrs: ConvAttrs,
  depthwise: boolean,
): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    'channelsLast',
  );
}

/** Window geometry of a pooling kernel (MaxPool, MaxPoolGrad, AvgPoolGrad) from the attributes tfjs passes. */
export function poolInfo(
  kernel: string,
  xShape: number[],
  attrs: NamedAttrMap | undefined,
): backend_util.Conv2DInfo {
  if (attrs === undefined) throw new AdvkitError('INTERNAL', `${kernel}: missing attributes.`);
  return backend_util.computePool2DInfo(
    shape4(kernel, 'input', xShape),
    attrs.filterSize as number | [number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding,
  );
}

/** op(a) is [m, k] and op(b) is [kB, n] (k === kB for a valid product): the sizes of a batched matrix product. */
export function matMulDims(
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): { m: number; k: number; kB: number; n: number } {
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  return {
    m: transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2],
    k: transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1],
    kB: transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2],
    n: transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1],
  };
}
