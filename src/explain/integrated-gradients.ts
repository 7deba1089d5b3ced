import * as tf from '@tensorflow/tfjs-core';
import { gatherRows } from '../util/rows.js';
import { field, type Params } from '../util/schema.js';
import { gaussianBlur } from './gaussian-blur.js';
import { QUADRATURE_RULES, quadrature } from './quadrature.js';
import { defineMethod, type AttributionContext, type InputDetails, type MethodOutput } from './types.js';

const schema = {
  baseline: field.choice(['black', 'blur', 'uniform'] as const, {
    default: 'black',
    description:
      "the path's start: 'black' (the lower bound in pixel space, which is not zero after normalization), " +
      "'blur' (the input blurred, Sturmfels et al. 2020) or 'uniform' (seeded uniform noise within the bounds)",
  }),
  blurSigma: field.number({
    default: 5,
    min: 0,
    exclusiveMin: true,
    description: "the 'blur' baseline's sigma in pixels",
  }),
  steps: field.integer({ default: 32, min: 1, description: 'quadrature points to start with' }),
  method: field.choice(QUADRATURE_RULES, { default: 'gauss-legendre', description: 'quadrature rule' }),
  tolerance: field.number({
    default: 0.01,
    min: 0,
    description: 'completeness gap to reach: |sum(attr) - (F(x) - F(b))| / |F(x) - F(b)|; 0 keeps `steps`',
  }),
  maxSteps: field.integer({ default: 512, min: 1, description: 'the step count at which doubling stops' }),
};

/** The baseline of each row: black, blurred or uniform noise, in pixel space. */
function baselineOf(ctx: AttributionContext, p: Params<typeof schema>): tf.Tensor4D {
  const [lo, hi] = ctx.model.bounds;
  if (p.baseline === 'black') return tf.fill(ctx.x.shape, lo);
  if (p.baseline === 'blur') return gaussianBlur(ctx.x, p.blurSigma);
  const n = ctx.x.shape[0];
  const size = ctx.x.size / n;
  const noise = new Float32Array(ctx.x.size);
  for (let i = 0; i < n; i++) {
    const rng = ctx.rowRng(i);
    for (let j = i * size; j < (i + 1) * size; j++) noise[j] = lo + (hi - lo) * rng.next();
  }
  return tf.tensor4d(noise, ctx.x.shape);
}

/**
 * (x - b) * sum_k w_k grad(b + alpha_k (x - b)) for the rows `rows`, their path points batched up to
 * ctx.batchSize rows per pass.
 */
async function pathIntegral(
  ctx: AttributionContext,
  x: tf.Tensor4D,
  b: tf.Tensor4D,
  rows: Int32Array,
  steps: number,
  rule: Params<typeof schema>['method'],
): Promise<tf.Tensor4D> {
  const [n, h, w, c] = x.shape;
  const { alphas, weights } = quadrature(rule, steps);
  const perPass = Math.max(1, Math.min(steps, Math.floor(ctx.batchSize / n)));
  const diff = tf.sub(x, b);
  let sum: tf.Tensor4D = tf.zerosLike(x);
  try {
    for (let k0 = 0; k0 < steps; k0 += perPass) {
      const m = Math.min(perPass, steps - k0);
      const a = tf.tensor4d(Float32Array.from(alphas.subarray(k0, k0 + m)), [m, 1, 1, 1]);
      const wk = tf.tensor4d(Float32Array.from(weights.subarray(k0, k0 + m)), [m, 1, 1, 1]);
      // Row k * n + i is input i at alpha_k.
      const points = tf.tidy(() =>
        tf.reshape(
          tf.add(tf.expandDims(b, 0), tf.mul(tf.reshape(a, [m, 1, 1, 1, 1]), tf.expandDims(diff, 0))),
          [m * n, h, w, c],
        ),
      ) as tf.Tensor4D;
      const copies = new Int32Array(m * n);
      for (let k = 0; k < m; k++) copies.set(rows, k * n);
      const { logit, grad } = ctx.targetGradient(points, copies);
      const next = tf.tidy(() =>
        tf.add<tf.Tensor4D>(
          sum,
          tf.sum(tf.mul(tf.reshape(grad, [m, n, h, w, c]), tf.reshape(wk, [m, 1, 1, 1, 1])), 0),
        ),
      );
      tf.dispose([a, wk, points, logit, grad, sum]);
      sum = next;
      await ctx.yieldStep(k0 + m, steps);
    }
    return tf.mul<tf.Tensor4D>(diff, sum);
  } finally {
    tf.dispose([diff, sum]);
  }
}

/** Per row: the sum of the attributions. */
function rowSums(t: tf.Tensor4D): Float32Array {
  const s = tf.tidy(() => tf.sum(tf.reshape(t, [t.shape[0], -1]), 1));
  const out = s.dataSync() as Float32Array;
  s.dispose();
  return out;
}

/**
 * Integrated Gradients (Sundararajan, Taly & Yan 2017, "Axiomatic Attribution for Deep Networks"):
 * (x - b) * integral_0^1 d logit_t(b + alpha (x - b)) / d x d alpha, by quadrature. Completeness says the
 * attributions sum to F(x) - F(b); the relative gap |sum - (F(x) - F(b))| / |F(x) - F(b)| is reported for every
 * input, and the step count doubles for the inputs above `tolerance` until `maxSteps` (Captum returns the same
 * "convergence delta" but leaves the steps to the user). Details per input: steps, gap, delta (sum - (F(x) -
 * F(b))), logitDelta (F(x) - F(b)), converged. Where F(x) = F(b), the gap is the absolute delta.
 *
 * @example explain(model, integratedGradients, { x, params: { baseline: 'black', steps: 32 } })
 */
export const integratedGradients = defineMethod({
  name: 'ig',
  title: 'Integrated Gradients (Sundararajan et al. 2017)',
  output: 'pixel',
  access: 'gradients',
  schema,
  run: async (ctx, p): Promise<MethodOutput> => {
    const n = ctx.x.shape[0];
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const baseline = baselineOf(ctx, p);
    const fx = ctx.targetLogits(ctx.x, all);
    const fb = ctx.targetLogits(baseline, all);
    const diff = tf.sub(fx, fb);
    const logitDelta = diff.dataSync() as Float32Array;
    tf.dispose([fx, fb, diff]);

    const maps: (tf.Tensor4D | undefined)[] = new Array(n);
    const details: InputDetails[] = new Array(n);
    let pending = all;
    let steps = Math.min(p.steps, p.maxSteps);
    try {
      for (;;) {
        const x = gatherRows(ctx.x, pending);
        const b = gatherRows(baseline, pending);
        let attr: tf.Tensor4D;
        try {
          attr = await pathIntegral(ctx, x, b, pending, steps, p.method);
        } finally {
          tf.dispose([x, b]);
        }
        const sums = rowSums(attr);
        const again: number[] = [];
        const last = steps >= p.maxSteps;
        pending.forEach((row, i) => {
          const expected = logitDelta[row];
          const delta = sums[i] - expected;
          const gap = Math.abs(expected) > 1e-6 ? Math.abs(delta) / Math.abs(expected) : Math.abs(delta);
          // With tolerance 0 the steps are fixed by the caller: nothing to reach.
          const converged = p.tolerance === 0 || gap <= p.tolerance;
          if (!converged && !last && p.tolerance > 0) {
            again.push(row);
            return;
          }
          maps[row]?.dispose();
          maps[row] = tf.tidy(() => tf.slice(attr, [i, 0, 0, 0], [1, -1, -1, -1]));
          details[row] = { steps, gap, delta, logitDelta: expected, converged };
        });
        attr.dispose();
        if (again.length === 0) break;
        pending = Int32Array.from(again);
        steps = Math.min(2 * steps, p.maxSteps);
      }
      return { maps: tf.concat(maps as tf.Tensor4D[], 0), details };
    } finally {
      baseline.dispose();
      tf.dispose(maps.filter((m): m is tf.Tensor4D => m !== undefined));
    }
  },
});
