import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../../util/rng.js';
import { randomValues } from '../../kernels/test-utils/wasm-vs-cpu.js';
import type { FilterGradientCase } from './filter-gradient-cases.js';

/** dW from Conv2DBackpropFilter on `backend`; a dilated case runs on cpu undilated with the spread filter. */
export async function filterGradient(backend: 'wasm' | 'cpu', c: FilterGradientCase): Promise<Float32Array> {
  await tf.setBackend(backend);
  const rng = new Rng(c.x.reduce((a, b) => a * 31 + b, c.filter[3]));
  const d = c.dilation ?? 1;
  const spread = backend === 'cpu' && d > 1;
  const [kh, kw, ci, co] = c.filter;
  const filterShape = spread ? [(kh - 1) * d + 1, (kw - 1) * d + 1, ci, co] : c.filter;
  const attrs = {
    strides: c.strides,
    pad: c.pad,
    dataFormat: 'NHWC',
    dilations: spread ? 1 : d,
    filterShape,
  };
  const x = tf.tensor4d(randomValues(rng, c.x), c.x);
  const w = tf.zeros(filterShape);
  const y = tf.engine().runKernel<tf.Tensor>('Conv2D', { x, filter: w }, attrs);
  const dyShape = y.shape;
  y.dispose();
  const dy = tf.tensor(randomValues(rng, dyShape), dyShape);
  const grad = tf.engine().runKernel<tf.Tensor>('Conv2DBackpropFilter', { x, dy }, attrs);
  let values = new Float32Array(grad.dataSync());
  if (spread) {
    // the spread filter's gradient at the dilated taps is the dilated filter's gradient
    const full = values;
    values = new Float32Array(kh * kw * ci * co);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const src = (i * d * filterShape[1] + j * d) * ci * co;
        values.set(full.subarray(src, src + ci * co), (i * kw + j) * ci * co);
      }
    }
  }
  tf.dispose([x, w, dy, grad]);
  await tf.setBackend('wasm');
  return values;
}
