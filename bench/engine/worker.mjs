// One engine configuration (backend + threads) in its own process: prints one JSON line per measurement.
// Usage: node bench/engine/worker.mjs --backend native|wasm|cpu --threads N --batch B --reps R --warmup W [--layers]
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';
import { initNodeBackend } from '../../dist/backend/node-backend.js';
import { registerWasmGradientKernels } from '../../dist/backend/kernels/register-wasm-gradients.js';
import { registerSimdFilterGradient } from '../../dist/backend/simd/simd-filter-gradient-node.js';
import { engineInfo, startEngine } from '../engines.mjs';
import { MODELS } from './models.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith('--'))
      acc.push([a.slice(2), all[i + 1]?.startsWith('--') || all[i + 1] === undefined ? 'true' : all[i + 1]]);
    return acc;
  }, []),
);
const backend = args.backend ?? 'wasm';
const threads = Number(args.threads ?? 1);
const batch = Number(args.batch ?? 128);
const reps = Number(args.reps ?? 5);
const warmup = Number(args.warmup ?? 2);
const only = (args.only ?? Object.keys(MODELS).join(',')).split(',');
const tasks = (args.tasks ?? 'infer,fgsm_attack,sgd_update_step').split(',');

const stock = args.stock === 'true';
let engine;
if (stock) {
  // tfjs as shipped (one thread, none of advkit's kernels), for the before/after comparison
  const dir = path.dirname(
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'),
  );
  setWasmPaths(dir + path.sep);
  await tf.setBackend('wasm');
  engine = 'stock-wasm-1t';
} else if (backend === 'cpu') {
  await initNodeBackend({ backend });
  engine = 'cpu';
} else {
  engine = await startEngine(backend, threads);
}

function emit(rec) {
  console.log(JSON.stringify({ framework: 'advkit-tfjs', engine, backend, threads, ...rec }));
}
emit({ info: 'env', node: process.version, tfjs: tf.version_core, ...(await engineInfo()) });

/**
 * Median wall time (ms) of `fn`, which returns tensors to finish and dispose. One element of each is read back,
 * which forces the work on every backend without timing a copy of the whole output out of the engine (PyTorch's
 * side copies nothing either; a 33 MB read-back alone took 90 ms here, mostly page faults of the fresh array).
 */
function timeIt(fn, n = reps, w = warmup) {
  const once = () => {
    const t0 = performance.now();
    const out = fn();
    const list = Array.isArray(out) ? out : [out];
    for (const t of list) {
      const first = tf.tidy(() => tf.slice(tf.reshape(t, [-1]), 0, 1));
      first.dataSync();
      first.dispose();
    }
    tf.dispose(list);
    return performance.now() - t0;
  };
  for (let i = 0; i < w; i++) once();
  const ts = [];
  for (let i = 0; i < n; i++) ts.push(once());
  ts.sort((a, b) => a - b);
  return { median: ts[Math.floor(ts.length / 2)], times: ts.map((t) => Math.round(t * 10) / 10) };
}

function seeded(seed) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

for (const name of only) {
  const spec = MODELS[name];
  const model = spec.build();
  const rand = seeded(1234);
  const x = tf.tensor4d(Float32Array.from({ length: batch * spec.shape.reduce((a, b) => a * b) }, rand), [
    batch,
    ...spec.shape,
  ]);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: batch }, () => Math.floor(rand() * 10)),
      'int32',
    ),
    10,
  );
  const loss = (input, training) => tf.losses.softmaxCrossEntropy(y, model.apply(input, { training }));
  const record = (task, r) =>
    emit({
      model: name,
      task,
      batch,
      images_per_s: Math.round((batch / r.median) * 1000 * 100) / 100,
      median_ms: Math.round(r.median * 10) / 10,
      times_ms: r.times,
    });

  if (tasks.includes('infer'))
    record(
      'infer',
      timeIt(() => model.predict(x)),
    );
  if (tasks.includes('fgsm_attack')) {
    // one forward + input-gradient backward, then the signed step and the clip to [0, 1]
    record(
      'fgsm_attack',
      timeIt(() =>
        tf.tidy(() => {
          const g = tf.grad((v) => loss(v, false))(x);
          return tf.clipByValue(tf.add(x, tf.mul(tf.sign(g), spec.eps)), 0, 1);
        }),
      ),
    );
  }
  if (tasks.includes('sgd_update_step')) {
    // forward + weight gradients + SGD with momentum (lr 0.01, momentum 0.9), as the baseline's sgd_update_step
    const optimizer = tf.train.momentum(0.01, 0.9);
    record(
      'sgd_update_step',
      timeIt(() => optimizer.minimize(() => loss(x, true), true)),
    );
    optimizer.dispose();
  }
  if (args.layers === 'true') {
    for (const layer of model.layers.filter((l) => l.getClassName() === 'Conv2D')) {
      const [kernel] = layer.getWeights();
      measureConv(name, layer.name, [batch, ...layer.input.shape.slice(1)], kernel.shape, 1, 'same', kernel);
    }
  }
  tf.dispose([x, y]);
  model.dispose();
}

// Strided and pointwise layers as in PreAct ResNet-18 / WideResNet (not in the two reference CNNs).
if (args['resnet-layers'] === 'true') {
  const layers = [
    ['3x3 s1', [batch, 32, 32, 64], [3, 3, 64, 64], 1],
    ['3x3 s2', [batch, 32, 32, 64], [3, 3, 64, 128], 2],
    ['1x1 s2', [batch, 32, 32, 64], [1, 1, 64, 128], 2],
    ['3x3 s2', [batch, 16, 16, 128], [3, 3, 128, 256], 2],
  ];
  for (const [label, inShape, filterShape, stride] of layers) {
    const kernel = tf.randomNormal(filterShape, 0, 0.1);
    measureConv('resnet_layers', label, inShape, filterShape, stride, 'same', kernel);
    kernel.dispose();
  }
}

/** Forward convolution vs advkit's input- and filter-gradient kernels for one layer shape. */
function measureConv(model, layer, inShape, filterShape, strides, pad, kernel) {
  const xi = tf.randomUniform(inShape);
  const attrs = { strides, pad, dataFormat: 'NHWC', dilations: 1 };
  const fwd = timeIt(() => tf.engine().runKernel('Conv2D', { x: xi, filter: kernel }, attrs));
  const dy = tf.engine().runKernel('Conv2D', { x: xi, filter: kernel }, attrs);
  const dx = timeIt(() =>
    tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: kernel }, { ...attrs, inputShape: inShape }),
  );
  const dw = timeIt(() =>
    tf.engine().runKernel('Conv2DBackpropFilter', { x: xi, dy }, { ...attrs, filterShape }),
  );
  // The XNNPACK-based filter gradient that the SIMD kernel replaced in Node (still the browser path and its
  // fallback): registering the core kernels again puts it back, since the SIMD kernel is not one of them.
  let dwXnnpack;
  if (backend === 'wasm' && !stock) {
    registerWasmGradientKernels();
    dwXnnpack = timeIt(() =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: xi, dy }, { ...attrs, filterShape }),
    );
    registerSimdFilterGradient(threads);
  }
  const ms = (v) => Math.round(v * 10) / 10;
  emit({
    model,
    task: 'conv_layer',
    layer,
    input: inShape,
    filter: filterShape,
    strides,
    batch: inShape[0],
    forward_ms: ms(fwd.median),
    input_grad_ms: ms(dx.median),
    filter_grad_ms: ms(dw.median),
    input_grad_ratio: Math.round((dx.median / fwd.median) * 100) / 100,
    filter_grad_ratio: Math.round((dw.median / fwd.median) * 100) / 100,
    ...(dwXnnpack && {
      filter_grad_xnnpack_ms: ms(dwXnnpack.median),
      filter_grad_xnnpack_ratio: Math.round((dwXnnpack.median / fwd.median) * 100) / 100,
    }),
  });
  tf.dispose([xi, dy]);
}
