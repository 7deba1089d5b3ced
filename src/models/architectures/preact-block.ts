import * as tfl from '@tensorflow/tfjs-layers';
import { AdvkitError } from '../../errors.js';
import type { SeededInitializers } from './options.js';

type Tensor = tfl.SymbolicTensor;

function asSymbolic(out: ReturnType<tfl.layers.Layer['apply']>): Tensor {
  if (!(out instanceof tfl.SymbolicTensor)) throw new AdvkitError('INTERNAL', 'A layer returned several outputs.');
  return out;
}

/** BatchNorm with PyTorch's defaults (momentum 0.1 there = 0.9 here, eps 1e-5), as in the reference code. */
export function batchNorm(x: Tensor, name: string): Tensor {
  return asSymbolic(tfl.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5, name }).apply(x));
}

export function relu(x: Tensor, name: string): Tensor {
  return asSymbolic(tfl.layers.activation({ activation: 'relu', name }).apply(x));
}

/**
 * Convolution without bias, padded like PyTorch's `padding=k//2`: symmetric zero padding then 'valid'.
 * (TF 'same' pads a stride-2 convolution only at the bottom/right, which would shift every feature map
 * against the PyTorch reference networks; for stride 1 both are the same, and 'same' is used.)
 */
export function conv(
  x: Tensor,
  filters: number,
  kernelSize: number,
  stride: number,
  name: string,
  init: SeededInitializers,
): Tensor {
  const pad = Math.floor(kernelSize / 2);
  let input = x;
  if (stride !== 1 && pad > 0) {
    input = asSymbolic(tfl.layers.zeroPadding2d({ padding: pad, name: `${name}_pad` }).apply(x));
  }
  const layer = tfl.layers.conv2d({
    filters,
    kernelSize,
    strides: stride,
    padding: stride !== 1 ? 'valid' : 'same',
    useBias: false,
    kernelInitializer: init.conv(),
    name,
  });
  return asSymbolic(layer.apply(input));
}

/**
 * Pre-activation residual block (He et al. 2016, "Identity Mappings in Deep Residual Networks"):
 * BN-ReLU-conv3x3(stride)-BN-ReLU-[dropout]-conv3x3, plus the input, or a 1x1 strided convolution of the
 * activated input when the shape changes. Used by PreAct ResNet-18 and WideResNet.
 */
export function preActBlock(
  x: Tensor,
  inPlanes: number,
  planes: number,
  stride: number,
  name: string,
  init: SeededInitializers,
  dropout = 0,
): Tensor {
  const activated = relu(batchNorm(x, `${name}_bn1`), `${name}_relu1`);
  const shortcut =
    stride !== 1 || inPlanes !== planes ? conv(activated, planes, 1, stride, `${name}_shortcut`, init) : x;
  let out = conv(activated, planes, 3, stride, `${name}_conv1`, init);
  out = relu(batchNorm(out, `${name}_bn2`), `${name}_relu2`);
  if (dropout > 0) out = asSymbolic(tfl.layers.dropout({ rate: dropout, name: `${name}_dropout` }).apply(out));
  out = conv(out, planes, 3, 1, `${name}_conv2`, init);
  return asSymbolic(tfl.layers.add({ name: `${name}_add` }).apply([out, shortcut]));
}

/** Final BN-ReLU, global average pooling and the dense logits layer shared by both residual networks. */
export function preActHead(x: Tensor, numClasses: number, init: SeededInitializers): Tensor {
  const out = relu(batchNorm(x, 'final_bn'), 'final_relu');
  const pooled = asSymbolic(tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(out));
  return asSymbolic(
    tfl.layers.dense({ units: numClasses, kernelInitializer: init.dense(), name: 'logits' }).apply(pooled),
  );
}
