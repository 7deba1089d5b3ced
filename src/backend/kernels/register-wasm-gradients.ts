import { getKernel, registerKernel, unregisterKernel, type KernelFunc } from '@tensorflow/tfjs-core';
import { makeBatchMatMul } from './batch-mat-mul.js';
import { makeConv2dBackpropFilter } from './conv2d-backprop-filter.js';
import { makeConv2dBackpropInput } from './conv2d-backprop-input.js';
import { makeDepthwiseBackpropFilter } from './depthwise-backprop-filter.js';
import { makeDepthwiseBackpropInput } from './depthwise-backprop-input.js';
import { makeLeadingAxesReduce } from './leading-axes-reduce.js';
import { makeAvgPoolGrad, makeMaxPoolGrad } from './pool-grads.js';
import { makeSharedIdentity } from './shared-identity.js';
import { captureStockKernels, type StockKernels } from './wasm-ops.js';

/**
 * The kernels advkit registers on 'wasm' (replacing the stock one where there is one). Sum and Mean are here
 * because bias and batch-norm gradients reduce over leading axes, which the stock kernels do slowly; Identity
 * and Cast because gradient code copies whole activations through them.
 */
export const WASM_GRADIENT_KERNELS: Readonly<Record<string, (stock: StockKernels) => KernelFunc>> = {
  AvgPoolGrad: makeAvgPoolGrad,
  BatchMatMul: makeBatchMatMul,
  Cast: (stock) => makeSharedIdentity('Cast', stock),
  Conv2DBackpropFilter: makeConv2dBackpropFilter,
  Conv2DBackpropInput: makeConv2dBackpropInput,
  DepthwiseConv2dNativeBackpropFilter: makeDepthwiseBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: makeDepthwiseBackpropInput,
  Identity: (stock) => makeSharedIdentity('Identity', stock),
  MaxPoolGrad: makeMaxPoolGrad,
  Mean: (stock) => makeLeadingAxesReduce('Mean', stock),
  Sum: (stock) => makeLeadingAxesReduce('Sum', stock),
};

const ours = new WeakSet<KernelFunc>();

/**
 * Register advkit's gradient kernels for the tfjs wasm backend: fast input and filter gradients of conv2d and
 * depthwise conv2d, pooling gradients and transposed matrix products, all built on the backend's own XNNPACK
 * kernels. Idempotent; browser-safe; call after importing '@tensorflow/tfjs-backend-wasm' (before or after
 * `tf.setBackend('wasm')`).
 */
export function registerWasmGradientKernels(): void {
  const names = Object.keys(WASM_GRADIENT_KERNELS);
  if (names.every((name) => isOurs(name))) return;
  const stock = captureStockKernels();
  for (const name of names) {
    if (isOurs(name)) continue;
    const previous = getKernel(name, 'wasm');
    if (previous !== undefined) unregisterKernel(name, 'wasm');
    const kernelFunc = WASM_GRADIENT_KERNELS[name](stock);
    ours.add(kernelFunc);
    // Keep the stock setup: the backend runs it once at start-up and the stock kernel we call may need it.
    registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc, setupFunc: previous?.setupFunc });
  }
}

function isOurs(name: string): boolean {
  const config = getKernel(name, 'wasm');
  return config !== undefined && ours.has(config.kernelFunc);
}
