import * as tf from '@tensorflow/tfjs-core';
import { field, type Params } from '../util/schema.js';
import { BestPoints } from './best-points.js';
import {
  initL2,
  initLinf,
  proposeL2,
  proposeLinf,
  squareFraction,
  squareSide,
  type ImageShape,
} from './square-proposals.js';
import { defineAttack, type AttackContext } from './types.js';

const SQUARE_LOSSES = ['margin', 'ce'] as const;

const schema = {
  queries: field.integer({
    default: 5000,
    min: 1,
    description: 'Model queries per example and restart; the first one scores the initialisation.',
  }),
  pInit: field.number({
    default: 0.8,
    min: 0,
    max: 1,
    exclusiveMin: true,
    description: 'Initial fraction of the input values one square changes; halved on the paper schedule.',
  }),
  restarts: field.integer({
    default: 1,
    min: 1,
    description: 'Runs from new random initialisations for the examples not yet adversarial.',
  }),
  loss: field.choice(SQUARE_LOSSES, {
    default: 'margin',
    description:
      "Untargeted loss on logits: 'margin' (z_y - max_{j != y} z_j, the paper's) or 'ce'. Targeted runs " +
      "minimise the target's cross-entropy, as the paper does.",
  }),
};

/**
 * Square Attack (Andriushchenko, Croce, Flammarion & Hein 2020, "Square Attack: a query-efficient black-box
 * adversarial attack via random search"), Linf and L2. Score-based: it only reads logits, never gradients.
 * From an initialisation on the boundary of the eps-ball (Linf: vertical stripes of +-eps; L2: a grid of
 * bumps), each iteration changes one random square of side sqrt(p * h * w) (Linf: set to +-eps per channel; L2:
 * a bump moving mass between two windows, rescaled to the eps-sphere) and keeps the candidate only where it
 * lowers the example's loss. Only the examples not yet adversarial are queried; p follows the paper's
 * piecewise-halving schedule rescaled to the budget, as in the reference code (AutoAttack's square.py).
 *
 * Parameters: queries 5000 (AutoAttack's standard version; per example and restart), pInit 0.8, restarts 1,
 * loss 'margin' (untargeted; targeted attacks minimise the target's cross-entropy, as the paper does).
 *
 * @example runAttack(model, square, { x, labels, eps: 0.3, params: { queries: 1000 } })
 */
export const square = defineAttack({
  name: 'square',
  title: 'Square attack (Andriushchenko et al. 2020), score-based random search, Linf / L2',
  norms: ['linf', 'l2'],
  budget: 'fixed',
  targeted: true,
  schema,
  run: (ctx, p) => squareAttack(ctx, p),
});

type SquareParams = Params<typeof schema>;

async function squareAttack(ctx: AttackContext, p: SquareParams): Promise<tf.Tensor4D> {
  const [, h, w, c] = ctx.x.shape;
  const shape: ImageShape = { h, w, c };
  const dim = h * w * c;
  const x = Float32Array.from(ctx.x.dataSync());
  const best = new BestPoints(ctx.x);
  for (let restart = 0; restart < p.restarts; restart++) {
    const rows = best.pending();
    if (rows.length === 0) break;
    const run = await singleRun(ctx, p, x, rows, shape, restart);
    const points = new Float32Array(rows.length * dim);
    rows.forEach((i, k) => points.set(run.points.subarray(i * dim, (i + 1) * dim), k * dim));
    // The search minimises its loss; the best points keep the highest score.
    const pick = (a: ArrayLike<number>): number[] => Array.from(rows, (i) => a[i]);
    best.record(
      points,
      rows,
      Uint8Array.from(pick(run.adversarial)),
      pick(run.loss).map((l) => -l),
    );
  }
  return best.result();
}

interface RunState {
  /** The current point per example (rows not in the run keep zeros). */
  points: Float32Array;
  loss: Float64Array;
  adversarial: Uint8Array;
}

/** One run of the random search from a fresh initialisation, for the examples `rows`. */
async function singleRun(
  ctx: AttackContext,
  p: SquareParams,
  x: Float32Array,
  rows: Int32Array,
  shape: ImageShape,
  restart: number,
): Promise<RunState> {
  const n = ctx.x.shape[0];
  const dim = shape.h * shape.w * shape.c;
  const norm = ctx.norm === 'l2' ? 'l2' : 'linf';
  const row = (a: Float32Array, i: number): Float32Array => a.subarray(i * dim, (i + 1) * dim);
  const state: RunState = {
    points: new Float32Array(n * dim),
    loss: new Float64Array(n).fill(Infinity),
    adversarial: new Uint8Array(n),
  };
  const init = norm === 'linf' ? initLinf : initL2;
  const propose = norm === 'linf' ? proposeLinf : proposeL2;
  const start = new Float32Array(rows.length * dim);
  rows.forEach((i, k) => init(row(x, i), row(start, k), shape, ctx.eps, ctx.bounds, ctx.rng));
  accept(state, evaluate(ctx, p, start, rows), rows, dim, start);
  for (let it = 0; it < p.queries - 1; it++) {
    const active = rows.filter((i) => state.adversarial[i] === 0);
    if (active.length === 0) break;
    const side = squareSide(squareFraction(p.pInit, it, p.queries), shape, norm);
    const candidates = new Float32Array(active.length * dim);
    active.forEach((i, k) =>
      propose(row(x, i), row(state.points, i), row(candidates, k), shape, ctx.eps, ctx.bounds, side, ctx.rng),
    );
    accept(state, evaluate(ctx, p, candidates, active), active, dim, candidates);
    await ctx.yieldStep(restart * p.queries + it + 1, p.restarts * p.queries);
  }
  return state;
}

/** Keeps a candidate where it lowers the loss or meets the goal (the paper's greedy acceptance, per example). */
function accept(
  state: RunState,
  scored: Scored,
  rows: Int32Array,
  dim: number,
  candidates: Float32Array,
): void {
  rows.forEach((i, k) => {
    if (scored.adversarial[k] === 1 || scored.loss[k] < state.loss[i]) {
      state.points.set(candidates.subarray(k * dim, (k + 1) * dim), i * dim);
      state.loss[i] = scored.loss[k];
      state.adversarial[i] = scored.adversarial[k];
    }
  });
}

interface Scored {
  loss: Float64Array;
  adversarial: Uint8Array;
}

/** One query per candidate: the loss to minimise and whether the goal is met. */
function evaluate(ctx: AttackContext, p: SquareParams, candidates: Float32Array, rows: Int32Array): Scored {
  const input = tf.tensor4d(candidates, [rows.length, ...ctx.classifier.inputShape]);
  const logits = ctx.logits(input);
  input.dispose();
  const z = logits.dataSync();
  const adversarial = ctx.isAdversarial(logits, rows);
  logits.dispose();
  const k = logits.shape[1];
  const loss = new Float64Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const scores = z.subarray(r * k, (r + 1) * k);
    loss[r] = ctx.targets
      ? logSumExp(scores) - scores[ctx.targets[rows[r]]]
      : untargetedLoss(p.loss, scores, ctx.labels[rows[r]]);
  }
  return { loss, adversarial };
}

/** Margin z_y - max_{j != y} z_j, or minus the cross-entropy z_y - logsumexp(z); both minimised. */
function untargetedLoss(loss: SquareParams['loss'], z: ArrayLike<number>, y: number): number {
  if (loss === 'ce') return z[y] - logSumExp(z);
  let other = -Infinity;
  for (let j = 0; j < z.length; j++) if (j !== y && z[j] > other) other = z[j];
  return z[y] - other;
}

function logSumExp(z: ArrayLike<number>): number {
  let max = -Infinity;
  for (let j = 0; j < z.length; j++) max = Math.max(max, z[j]);
  let sum = 0;
  for (let j = 0; j < z.length; j++) sum += Math.exp(z[j] - max);
  return max + Math.log(sum);
}
