import type * as tf from '@tensorflow/tfjs-core';
import type { GradientPass, LogitsLoss } from '../models/counted-model.js';
import type { Model } from '../models/model.js';
import type { Rng } from '../util/rng.js';
import type { Params, Schema } from '../util/schema.js';

/** The norm of the perturbation budget. Budgets are in input (pixel) space, within the model's bounds. */
export type Norm = 'linf' | 'l2' | 'l1';
export const NORMS: readonly Norm[] = ['linf', 'l2', 'l1'];

/**
 * What the attacker wants, given per call (never stored as mode state):
 * - 'untargeted': any class but the true label;
 * - a class index (all examples) or one class per example: that class;
 * - 'least-likely': the class with the lowest clean logit, per example;
 * - 'random': a seeded random class other than the true label, per example.
 */
export type Goal = 'untargeted' | 'least-likely' | 'random' | { target: number | ArrayLike<number> };

/** Work done: gradient evaluations and forward queries, counted per example (models/counted-model.ts). */
export type { Cost } from '../models/counted-model.js';

/**
 * 'fixed': the attack needs a budget eps and searches inside it (FGSM, PGD, Square).
 * 'minimal': the attack looks for the smallest adversarial perturbation (C&W, DeepFool, HopSkipJump); a
 * budget is optional and only decides success.
 */
export type BudgetKind = 'fixed' | 'minimal';

/**
 * One batch of one attack, as the runner hands it to the attack. Attacks reach the model only through
 * logits() and gradient(), which count the cost; they never project or score their result: the runner does.
 */
export interface AttackContext {
  /** The model under attack (reach it through logits() and gradient(), which count the cost). */
  readonly classifier: Model;
  /** The clean inputs (owned by the runner; do not dispose). */
  readonly x: tf.Tensor4D;
  /** True labels. */
  readonly labels: Int32Array;
  /** Target class per example when the goal is targeted, else null. */
  readonly targets: Int32Array | null;
  /** The budget; Infinity for a minimal attack run without one. */
  readonly eps: number;
  readonly norm: Norm;
  readonly bounds: readonly [number, number];
  readonly rng: Rng;
  /** Logits of a batch (counts x.shape[0] queries). */
  logits(x: tf.Tensor4D): tf.Tensor2D;
  /**
   * Logits, per-example loss and the gradient of the summed loss with respect to x (counts one gradient per
   * row and EOT sample). With EOT (Expectation over Transformation) all three are means over the samples.
   * The caller disposes the three tensors.
   */
  gradient(x: tf.Tensor4D, loss: LogitsLoss): GradientPass;
  /** Per row of `logits`: does it meet the goal for the examples `rows` (indices into this batch)? */
  isAdversarial(logits: tf.Tensor2D, rows: Int32Array): Uint8Array;
  /** Lets the event loop run, reports progress within this batch, and throws ABORTED when cancelled. */
  yieldStep(done: number, total: number): Promise<void>;
}

/** An attack: its documentation, parameter schema and the batch routine. */
export interface Attack<S extends Schema = Schema> {
  /** The name used by the CLI and the registry ('pgd'). */
  readonly name: string;
  /** One line for listings: what it is and where it comes from. */
  readonly title: string;
  readonly norms: readonly Norm[];
  readonly budget: BudgetKind;
  /** False for attacks that only do untargeted search. */
  readonly targeted: boolean;
  readonly schema: S;
  run(ctx: AttackContext, params: Params<S>): Promise<tf.Tensor4D>;
}

/** Identity with inference: `export const pgd = defineAttack({ ... })` keeps the schema's exact type. */
export function defineAttack<S extends Schema>(attack: Attack<S>): Attack<S> {
  return attack;
}
