import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError, invalidArgument } from '../../errors.js';
import type { Rng } from '../../util/rng.js';

/** What a transform is told at each call: the model's pixel bounds and, for random transforms, a seeded stream. */
export interface TransformContext {
  /** [min, max] of the pixels, the wrapped model's bounds; outputs stay inside them. */
  readonly bounds: readonly [number, number];
  /** Draws for random transforms; deterministic transforms ignore it. */
  readonly rng?: Rng;
}

/**
 * An input-transform defense: a function of the image applied before the model (Guo et al. 2018, "Countering
 * Adversarial Images using Input Transformations"; Xu, Evans & Qi 2018, "Feature Squeezing"; Xie et al. 2018,
 * "Mitigating Adversarial Effects Through Randomization"). `apply` takes a batch [n, h, w, c] in pixel space and
 * returns a batch of the same shape inside the bounds; the caller disposes it. A transform that is not
 * `differentiable` still has a gradient: BPDA (Athalye, Carlini & Wagner 2018, "Obfuscated Gradients Give a False
 * Sense of Security"), the real transform forward and the identity backward, so that gradient attacks see through
 * it as the paper's adaptive attacker does. A `random` transform draws from `ctx.rng` and must be attacked with
 * Expectation over Transformation (`CountedModel`'s `eot`).
 */
export interface Transform {
  /** The name in a defense spec (`jpeg`, `bits`, ...). */
  readonly name: string;
  /** Its parameters by name, as parsed (`{ quality: 75 }`). */
  readonly params: Readonly<Record<string, number>>;
  /** `name:param`, the spec that builds it again. */
  readonly spec: string;
  /** True when the gradient is the transform's own; false when it is a BPDA approximation. */
  readonly differentiable: boolean;
  /** True when two calls on the same input may differ. */
  readonly random: boolean;
  apply(x: tf.Tensor4D, ctx: TransformContext): tf.Tensor4D;
}

/**
 * `forward(x)` on the way forward, the identity on the way back (BPDA with g(x) = x, Athalye et al. 2018, Section
 * 4.1): for transforms that keep the image close to itself, f(x) ~ x, so the gradient of the model at f(x) is a
 * useful gradient for x.
 */
export function bpdaIdentity(forward: (x: tf.Tensor4D) => tf.Tensor4D): (x: tf.Tensor4D) => tf.Tensor4D {
  const op = tf.customGrad<tf.Tensor4D>((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: forward(args[0] as tf.Tensor4D),
    gradFunc: (dy) => [tf.clone(dy)],
  }));
  return (x) => op(x);
}

/**
 * `forward(x)` on the way forward, the gradient of a differentiable `approximation` on the way back: BPDA with a
 * general g (Athalye, Carlini & Wagner 2018, Section 4.1: "find a differentiable approximation g(x) such that
 * g(x) ~ f(x)", and backpropagate through g while the forward pass computes f). It is for transforms that change
 * the image too much for the identity to be a useful g: a median filter's output is the window's median, which a
 * mean of the same window approximates, so g is that mean (a box filter), and a perturbation the attack builds
 * from g's gradient is smooth enough to survive the median. The value is `forward(x)` exactly; `approximation`
 * must keep x's shape, and its gradient, evaluated at x, is the backward pass (its forward output is computed
 * only for the gradient tape, one extra pass of g).
 */
export function bpdaApproximation(
  forward: (x: tf.Tensor4D) => tf.Tensor4D,
  approximation: (x: tf.Tensor4D) => tf.Tensor4D,
): (x: tf.Tensor4D) => tf.Tensor4D {
  // g(x) enters as a second input: its gradient flows back to x through g's own ops on the tape, while the value
  // is f(x) (x's own gradient through this op is zero). tfjs cannot run tf.grad inside a gradFunc.
  const op = tf.customGrad<tf.Tensor4D>((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: forward(args[0] as tf.Tensor4D),
    gradFunc: (dy) => [tf.zerosLike(dy), tf.clone(dy)],
  }));
  return (x) =>
    tf.tidy(() => {
      const g = approximation(x);
      if (!tf.util.arraysEqual(g.shape, x.shape)) {
        throw new AdvkitError(
          'INTERNAL',
          `A BPDA approximation must keep the input's shape [${x.shape.join(', ')}], got [${g.shape.join(', ')}].`,
        );
      }
      return op(x, g);
    });
}

/**
 * `forward(x)` on the way forward, a zero gradient on the way back: what plain backpropagation gets through
 * rounding (JPEG, bit depth), and the stand-in for transforms without any gradient (median, TV). It is the masked
 * gradient a naive evaluation attacks; `DefendedModel` uses it only when asked for `gradients: 'naive'`.
 */
export function zeroGradient(forward: (x: tf.Tensor4D) => tf.Tensor4D): (x: tf.Tensor4D) => tf.Tensor4D {
  const op = tf.customGrad<tf.Tensor4D>((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: forward(args[0] as tf.Tensor4D),
    gradFunc: (dy) => [tf.zerosLike(dy)],
  }));
  return (x) => op(x);
}

/** Returns `value` when it is an integer in [lo, hi]; otherwise INVALID_ARGUMENT naming the parameter and range. */
export function checkInteger(what: string, value: number, lo: number, hi: number): number {
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw invalidArgument(`${what} must be an integer from ${lo} to ${hi}, got ${value}.`);
  }
  return value;
}

/** Returns `value` when it is a finite number in [lo, hi]; otherwise INVALID_ARGUMENT naming the parameter and range. */
export function checkNumber(what: string, value: number, lo: number, hi: number): number {
  if (!Number.isFinite(value) || value < lo || value > hi) {
    throw invalidArgument(`${what} must be a number from ${lo} to ${hi}, got ${value}.`);
  }
  return value;
}

/** INVALID_ARGUMENT unless x is a 4-D batch whose height and width are at least `minSide`. */
export function checkImageBatch(transform: string, x: tf.Tensor, minSide: number, why: string): void {
  if (x.rank !== 4) {
    throw invalidArgument(
      `${transform}: expected a batch of images [n, h, w, c], got shape [${x.shape.join(', ')}].`,
    );
  }
  const [, h, w] = x.shape;
  if (h < minSide || w < minSide) {
    throw invalidArgument(
      `${transform}: images must be at least ${minSide}x${minSide} (${why}), got ${h}x${w}.`,
    );
  }
}
