import {
  getKernel,
  registerKernel,
  unregisterKernel,
  type backend_util,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { AdvkitError } from '../../errors.js';
import { convAttrs, convInfo, input, shape4 } from '../kernels/kernel-attrs.js';
import { encodeFilterGradientModule, type FilterGradientShape } from './filter-gradient-module.js';
import {
  planFilterGradient,
  splitTasks,
  type ConvGeometry,
  type FilterGradientPlan,
} from './filter-gradient-plan.js';
import { HelperThread } from './helper-thread-node.js';

const NAME = 'Conv2DBackpropFilter';
/** Largest wasm32 memory in pages: a shared memory import must declare a maximum at least the real one's. */
const MAX_PAGES = 65536;
/** Compiled kernels and plans kept per shape (a model has a handful of conv layers). */
const CACHE_LIMIT = 32;

/**
 * Conv2DBackpropFilter on tfjs wasm as advkit's own SIMD kernel (filter-gradient-module.ts), split over threads
 * in Node. It replaces advkit's XNNPACK-based kernel (kernels/conv2d-backprop-filter.ts), which stays the
 * browser path and this kernel's fallback: that one must turn the reduction over batch and space into the
 * channels of one XNNPACK convolution, paying for transposes and a re-packed 4M-element "filter", and ran at
 * 1.6-2.1x the forward convolution on the larger CIFAR layers; this one reads x and dy where tfjs keeps them.
 *
 * The kernel module imports tfjs's own WebAssembly.Memory (no copies in or out): shared in the threaded build,
 * so helper threads (helper-thread-node.ts) instantiate the same module on it; in the single-threaded build
 * it is a plain memory and the kernel runs on the main thread alone. The reduction is split into contiguous
 * task ranges of equal pixel work, each thread adds into its own dW (the main thread's is the output) and the
 * partial dWs are summed at the end.
 */
export function registerSimdFilterGradient(threads: number): void {
  const current = getKernel(NAME, 'wasm');
  if (current === undefined) {
    throw new AdvkitError(
      'UNSUPPORTED',
      `No '${NAME}' kernel is registered for wasm: call registerWasmGradientKernels() first.`,
    );
  }
  const fallback = fallbacks.get(current.kernelFunc) ?? current.kernelFunc;
  const kernelFunc = makeSimdFilterGradient(fallback, threads);
  fallbacks.set(kernelFunc, fallback);
  unregisterKernel(NAME, 'wasm');
  registerKernel({ kernelName: NAME, backendName: 'wasm', kernelFunc, setupFunc: current.setupFunc });
}

/** Our kernels -> the kernel each falls back to (so that registering again does not stack wrappers). */
const fallbacks = new WeakMap<KernelFunc, KernelFunc>();

function makeSimdFilterGradient(fallback: KernelFunc, threads: number): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const x = input(NAME, args.inputs, 'x');
    const dy = input(NAME, args.inputs, 'dy');
    const filterShape = shape4(NAME, 'filterShape', args.attrs?.filterShape);
    const info = convInfo(shape4(NAME, 'x', x.shape), filterShape, convAttrs(NAME, args.attrs), false);
    const runtime = x.dtype === 'float32' && dy.dtype === 'float32' ? runtimeFor(backend, x) : undefined;
    if (runtime === undefined) return fallback(args);
    return runtime.filterGradient(backend, x, dy, geometry(info), threads);
  };
}

function geometry(info: backend_util.Conv2DInfo): ConvGeometry {
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/**
 * How the SIMD filter gradient runs on `backend`: 'threads' on tfjs's shared memory (the threaded build; helper
 * threads join when more than one thread is asked for), 'main-thread' on a plain memory, 'fallback' when it
 * cannot run there (advkit's XNNPACK-based kernel is used).
 */
export function simdFilterGradientMode(backend: BackendWasm): 'threads' | 'main-thread' | 'fallback' {
  const probe = backend.makeOutput([1], 'float32');
  try {
    const runtime = runtimeFor(backend, probe);
    if (runtime === undefined) return 'fallback';
    return runtime.shared ? 'threads' : 'main-thread';
  } finally {
    backend.disposeData(probe.dataId);
  }
}

let current: SimdRuntime | undefined;
/** Backends whose memory could not be used (not found, or wasm SIMD not available): they keep the fallback. */
const unusable = new WeakSet<BackendWasm>();

function runtimeFor(backend: BackendWasm, probe: TensorInfo): SimdRuntime | undefined {
  if (unusable.has(backend)) return undefined;
  const memory = wasmMemoryOf(backend, probe);
  if (memory === undefined) {
    unusable.add(backend);
    return undefined;
  }
  if (current?.memory !== memory) {
    current?.close();
    current = undefined;
    try {
      current = new SimdRuntime(memory);
    } catch {
      unusable.add(backend);
    }
  }
  return current;
}

/**
 * tfjs's WebAssembly.Memory: emscripten keeps it as `wasmMemory` on the module object in the threaded build and
 * as the `memory` export under `asm` in the others. Used only when it is the memory behind the tfjs heap (where
 * tfjs keeps the tensor `probe`).
 */
function wasmMemoryOf(backend: BackendWasm, probe: TensorInfo): WebAssembly.Memory | undefined {
  const module: object = backend.wasm;
  let memory: unknown;
  if ('wasmMemory' in module) memory = module.wasmMemory;
  else if (
    'asm' in module &&
    typeof module.asm === 'object' &&
    module.asm !== null &&
    'memory' in module.asm
  ) {
    memory = module.asm.memory;
  }
  if (!(memory instanceof WebAssembly.Memory)) return undefined;
  return memory.buffer === backend.typedArrayFromHeap(probe).buffer ? memory : undefined;
}

interface CompiledKernel {
  id: number;
  module: WebAssembly.Module;
  run: (begin: number, end: number, table: number, x: number, dy: number, dw: number) => void;
}

/** Kernels compiled for one tfjs memory, and the helper threads that share it. */
class SimdRuntime {
  readonly shared: boolean;
  private readonly kernels = new Map<string, CompiledKernel>();
  private readonly plans = new Map<string, FilterGradientPlan>();
  private readonly helpers: HelperThread[] = [];
  private nextId = 0;

  constructor(readonly memory: WebAssembly.Memory) {
    this.shared = memory.buffer instanceof SharedArrayBuffer;
    // Fails here, once, where wasm SIMD is not available.
    this.kernelFor({
      inWidth: 1,
      inChannels: 1,
      outWidth: 1,
      outChannels: 4,
      strideHeight: 1,
      strideWidth: 1,
    });
  }

  filterGradient(
    backend: BackendWasm,
    x: TensorInfo,
    dy: TensorInfo,
    g: ConvGeometry,
    threads: number,
  ): TensorInfo {
    const kernel = this.kernelFor({
      inWidth: g.inWidth,
      inChannels: g.inChannels,
      outWidth: g.outWidth,
      outChannels: g.outChannels,
      strideHeight: g.strideHeight,
      strideWidth: g.strideWidth,
    });
    const plan = this.planFor(g);
    const parts = this.shared ? Math.max(1, Math.min(threads, plan.tasks)) : 1;
    const helpers = this.helpersFor(parts - 1);
    const bounds = splitTasks(plan, parts);
    const size = g.filterHeight * g.filterWidth * g.inChannels * g.outChannels;
    const out = backend.makeOutput([g.filterHeight, g.filterWidth, g.inChannels, g.outChannels], 'float32');
    // One scratch allocation: the task table, then a partial dW per helper.
    const scratch = backend.makeOutput([Math.max(1, plan.table.length + helpers.length * size)], 'float32');
    const buffer = this.memory.buffer;
    const outAt = backend.getMemoryOffset(out.dataId);
    const tableAt = backend.getMemoryOffset(scratch.dataId);
    const xAt = backend.getMemoryOffset(x.dataId);
    const dyAt = backend.getMemoryOffset(dy.dataId);
    const partialAt = (i: number): number => tableAt + 4 * (plan.table.length + i * size);
    new Int32Array(buffer, tableAt, plan.table.length).set(plan.table);
    const dw = new Float32Array(buffer, outAt, size).fill(0);
    const partials = helpers.map((_, i) => new Float32Array(buffer, partialAt(i), size).fill(0));
    let started = 0;
    try {
      for (; started < helpers.length; started++) {
        const [begin, end] = [bounds[started + 1], bounds[started + 2]];
        helpers[started].start(kernel.id, kernel.module, [
          begin,
          end,
          tableAt,
          xAt,
          dyAt,
          partialAt(started),
        ]);
      }
      kernel.run(bounds[0], bounds[1], tableAt, xAt, dyAt, outAt);
    } finally {
      // Every started helper must be done with the scratch memory before it is freed.
      for (let i = 0; i < started; i++) helpers[i].finish();
      backend.disposeData(scratch.dataId);
    }
    // The views stay valid: nothing was allocated since they were made.
    for (const partial of partials) {
      for (let i = 0; i < size; i++) dw[i] += partial[i];
    }
    return out;
  }

  close(): void {
    for (const helper of this.helpers) helper.close();
    this.helpers.length = 0;
  }

  private helpersFor(count: number): HelperThread[] {
    while (this.helpers.length < count) {
      const helper = new HelperThread(this.memory);
      helper.waitUntilReady();
      this.helpers.push(helper);
    }
    return this.helpers.slice(0, count);
  }

  private kernelFor(shape: FilterGradientShape): CompiledKernel {
    const key = JSON.stringify(shape);
    let kernel = this.kernels.get(key);
    if (kernel === undefined) {
      if (this.kernels.size >= CACHE_LIMIT) this.kernels.clear();
      const module = new WebAssembly.Module(
        encodeFilterGradientModule(shape, { shared: this.shared, maxPages: MAX_PAGES }),
      );
      const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
      const run = instance.exports.run as CompiledKernel['run'];
      kernel = { id: this.nextId++, module, run };
      this.kernels.set(key, kernel);
    }
    return kernel;
  }

  private planFor(g: ConvGeometry): FilterGradientPlan {
    const key = JSON.stringify(g);
    let plan = this.plans.get(key);
    if (plan === undefined) {
      if (this.plans.size >= CACHE_LIMIT) this.plans.clear();
      plan = planFilterGradient(g);
      this.plans.set(key, plan);
    }
    return plan;
  }
}
