import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../../models/model.js';
import { Rng } from '../../util/rng.js';
import { defenseSpec, parseDefense } from './parse-defense.js';
import { zeroGradient, type Transform } from './transform.js';

export interface DefendedModelOptions {
  /**
   * Seed of the random transforms' stream (default 0). Each logits() call draws a fresh child stream from it, so
   * that two calls on the same input differ (as the defense does when deployed, and as EOT needs) while the same
   * seed and the same sequence of calls give the same logits.
   */
  seed?: number;
  /** Whether dispose() also disposes the wrapped model (default true: the defended model owns it). */
  disposeModel?: boolean;
  /**
   * The gradient of the non-differentiable transforms: `bpda` (default), BPDA's approximation, the adaptive
   * attacker's; `naive`, the gradient plain backpropagation gets through them, zero (rounding, sorting and the
   * TV solver have none), which masks the model's gradient: only for showing how a naive evaluation overstates
   * robustness (Athalye et al. 2018), never for judging the defense.
   */
  gradients?: DefenseGradients;
}

/** How gradients cross the transforms that have none of their own: see DefendedModelOptions.gradients. */
export type DefenseGradients = 'bpda' | 'naive';

/**
 * A model behind a chain of input transforms (JPEG, bit depth, median, blur, random resize-and-pad, total
 * variation): logits(x) is
 * the wrapped model's logits on transform_k(...transform_1(x)), so attacks, evaluations and explanations run
 * through the defense unchanged. Gradients go through the chain: exact for differentiable transforms, BPDA's
 * identity for the others (Athalye, Carlini & Wagner 2018, "Obfuscated Gradients Give a False Sense of
 * Security"), which is the adaptive attack those defenses must face. A `random` chain (resize-and-pad, tv) gives
 * different logits at each call: evaluate it with EOT (`eot` of runAttack and CountedModel), and expect the
 * randomized-model sanity check to say so.
 *
 * It exposes no `activations`: the wrapped model's layers see the transformed input, not x, so passing them
 * through would attribute to the wrong image; explain a defended model by gradients or occlusion.
 *
 * Example: `new DefendedModel(classifier, 'jpeg:75,bits:4')`.
 */
export class DefendedModel implements Model {
  readonly model: Model;
  readonly transforms: readonly Transform[];
  /** The chain's spec (`jpeg:75,bits:4`, `none`). */
  readonly spec: string;
  /** True when every transform's gradient is its own (no BPDA approximation). */
  readonly differentiable: boolean;
  /** True when some transform is random: two calls on the same input may differ. */
  readonly random: boolean;
  readonly inputShape: readonly [number, number, number];
  readonly bounds: readonly [number, number];
  readonly classNames: readonly string[];
  readonly numClasses: number;
  /** How gradients cross the non-differentiable transforms (DefendedModelOptions.gradients). */
  readonly gradients: DefenseGradients;
  private rng: Rng;
  private readonly disposeModel: boolean;

  constructor(model: Model, defense: string | readonly Transform[], options: DefendedModelOptions = {}) {
    this.model = model;
    this.transforms = typeof defense === 'string' ? parseDefense(defense) : [...defense];
    this.spec = defenseSpec(this.transforms);
    this.differentiable = this.transforms.every((t) => t.differentiable);
    this.random = this.transforms.some((t) => t.random);
    this.inputShape = model.inputShape;
    this.bounds = model.bounds;
    this.classNames = model.classNames;
    this.numClasses = model.numClasses;
    this.rng = new Rng(options.seed ?? 0);
    this.disposeModel = options.disposeModel ?? true;
    this.gradients = options.gradients ?? 'bpda';
  }

  /** Restarts the random draws from `seed` (see `Model.reseed`); a deterministic chain draws nothing. */
  reseed(seed: number): void {
    this.rng = new Rng(seed);
  }

  /** The input after the chain (the caller disposes it); each call of a random chain takes a new draw. */
  transform(x: tf.Tensor4D): tf.Tensor4D {
    // Deterministic chains leave the stream alone, so adding one does not shift another's draws.
    const rng = this.random ? this.rng.fork() : undefined;
    return tf.tidy(() => {
      let y = x;
      for (const t of this.transforms) {
        const ctx = { bounds: this.bounds, rng };
        y =
          this.gradients === 'naive' && !t.differentiable
            ? zeroGradient((v) => t.apply(v, ctx))(y)
            : t.apply(y, ctx);
      }
      return y === x ? tf.clone(x) : y;
    });
  }

  logits(x: tf.Tensor4D, opts?: { training?: boolean }): tf.Tensor2D {
    return tf.tidy(() => this.model.logits(this.transform(x), opts));
  }

  predict(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(this.logits(x)));
  }

  dispose(): void {
    if (this.disposeModel) this.model.dispose();
  }
}
