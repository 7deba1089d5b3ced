import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError, invalidArgument } from '../errors.js';

/**
 * SGD and Adam written over tf.Variables, so that their whole state (slot variables and step count) can be
 * read out for a checkpoint and written back exactly. tfjs's own optimizers keep part of their state where
 * it cannot be restored bit for bit.
 *
 * Weight decay: 'coupled' adds weightDecay*w to the gradient (L2 regularisation, as torch.optim.SGD/Adam do);
 * 'decoupled' shrinks the weights by lr*weightDecay*w outside the gradient statistics (Loshchilov & Hutter,
 * "Decoupled Weight Decay Regularization", ICLR 2019, i.e. AdamW). For plain SGD without momentum the two are
 * the same.
 */
export type OptimizerName = 'sgd' | 'adam';
export const OPTIMIZER_NAMES: readonly OptimizerName[] = ['sgd', 'adam'];
export type WeightDecayMode = 'coupled' | 'decoupled';

export interface SgdOptions {
  /** Heavy-ball momentum (default 0). */
  momentum?: number;
  /** Nesterov momentum as in torch.optim.SGD (Sutskever et al., ICML 2013); needs momentum > 0. */
  nesterov?: boolean;
  weightDecay?: number;
  weightDecayMode?: WeightDecayMode;
}

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
  weightDecayMode?: WeightDecayMode;
}

/** Everything an optimizer needs to continue exactly where it stopped. Slots hold one array per variable. */
export interface OptimizerState {
  kind: OptimizerName;
  iterations: number;
  slots: Record<string, Float32Array[]>;
}

export interface Optimizer {
  readonly kind: OptimizerName;
  /** Number of updates applied so far. */
  readonly iterations: number;
  /** One update; `grads[i]` is the gradient of variable i (same order as at construction). */
  apply(grads: readonly tf.Tensor[], lr: number): void;
  getState(): Promise<OptimizerState>;
  setState(state: OptimizerState): void;
  dispose(): void;
}

function checkRange(name: string, value: number, lo: number, hi: number, hiOpen = false): void {
  const ok = Number.isFinite(value) && value >= lo && (hiOpen ? value < hi : value <= hi);
  if (!ok)
    throw invalidArgument(
      `Optimizer option '${name}' must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${value}.`,
    );
}

/** Shared bookkeeping: the variables, their zero-initialised slots, state in/out. */
abstract class SlotOptimizer implements Optimizer {
  abstract readonly kind: OptimizerName;
  protected step = 0;
  protected readonly slots: Record<string, tf.Variable[]> = {};

  constructor(
    protected readonly variables: readonly tf.Variable[],
    slotNames: readonly string[],
  ) {
    for (const name of slotNames) {
      this.slots[name] = variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
    }
  }

  get iterations(): number {
    return this.step;
  }

  abstract apply(grads: readonly tf.Tensor[], lr: number): void;

  protected checkGrads(grads: readonly tf.Tensor[], lr: number): void {
    if (grads.length !== this.variables.length) {
      throw new AdvkitError(
        'INTERNAL',
        `${this.kind}: ${grads.length} gradients for ${this.variables.length} variables.`,
      );
    }
    if (!(Number.isFinite(lr) && lr >= 0))
      throw invalidArgument(`Learning rate must be a number >= 0, got ${lr}.`);
  }

  async getState(): Promise<OptimizerState> {
    const slots: Record<string, Float32Array[]> = {};
    for (const [name, vars] of Object.entries(this.slots)) {
      slots[name] = await Promise.all(vars.map(async (v) => Float32Array.from(await v.data<'float32'>())));
    }
    return { kind: this.kind, iterations: this.step, slots };
  }

  setState(state: OptimizerState): void {
    if (state.kind !== this.kind) {
      throw invalidArgument(`Optimizer state is for '${state.kind}' but the optimizer is '${this.kind}'.`);
    }
    const expected = Object.keys(this.slots).sort().join(',');
    if (Object.keys(state.slots).sort().join(',') !== expected) {
      throw invalidArgument(
        `Optimizer state has slots [${Object.keys(state.slots).join(', ')}], expected [${expected}] (different momentum setting?).`,
      );
    }
    for (const [name, vars] of Object.entries(this.slots)) {
      const values = state.slots[name];
      if (values.length !== vars.length) {
        throw invalidArgument(
          `Optimizer state has ${values.length} '${name}' slots for ${vars.length} variables.`,
        );
      }
      vars.forEach((v, i) => {
        if (values[i].length !== v.size) {
          throw invalidArgument(
            `Optimizer slot '${name}' #${i} has ${values[i].length} values, expected ${v.size}.`,
          );
        }
      });
    }
    for (const [name, vars] of Object.entries(this.slots)) {
      vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(state.slots[name][i], v.shape, 'float32'))));
    }
    this.step = state.iterations;
  }

  dispose(): void {
    for (const vars of Object.values(this.slots)) vars.forEach((v) => v.dispose());
  }
}

/** Stochastic gradient descent with optional (Nesterov) momentum, following torch.optim.SGD (dampening 0). */
export class SgdOptimizer extends SlotOptimizer {
  readonly kind = 'sgd';
  private readonly momentum: number;
  private readonly nesterov: boolean;
  private readonly weightDecay: number;
  private readonly decoupled: boolean;

  constructor(variables: readonly tf.Variable[], opts: SgdOptions = {}) {
    const momentum = opts.momentum ?? 0;
    checkRange('momentum', momentum, 0, 1, true);
    super(variables, momentum > 0 ? ['momentum'] : []);
    this.momentum = momentum;
    this.nesterov = opts.nesterov ?? false;
    if (this.nesterov && momentum === 0) throw invalidArgument(`Nesterov momentum needs momentum > 0.`);
    this.weightDecay = opts.weightDecay ?? 0;
    checkRange('weightDecay', this.weightDecay, 0, 1);
    this.decoupled = (opts.weightDecayMode ?? 'coupled') === 'decoupled';
  }

  apply(grads: readonly tf.Tensor[], lr: number): void {
    this.checkGrads(grads, lr);
    tf.tidy(() => {
      this.variables.forEach((w, i) => {
        let g = grads[i];
        if (this.weightDecay > 0 && !this.decoupled) g = tf.add(g, tf.mul(w, this.weightDecay));
        let update = g;
        if (this.momentum > 0) {
          const buf = this.slots.momentum[i];
          const next = tf.add(tf.mul(buf, this.momentum), g);
          buf.assign(next);
          update = this.nesterov ? tf.add(g, tf.mul(next, this.momentum)) : next;
        }
        let next = tf.sub(w, tf.mul(update, lr));
        if (this.weightDecay > 0 && this.decoupled) next = tf.sub(next, tf.mul(w, lr * this.weightDecay));
        w.assign(next);
      });
    });
    this.step++;
  }
}

/** Adam (Kingma & Ba, ICLR 2015) with bias correction; AdamW when weightDecayMode is 'decoupled'. */
export class AdamOptimizer extends SlotOptimizer {
  readonly kind = 'adam';
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly weightDecay: number;
  private readonly decoupled: boolean;

  constructor(variables: readonly tf.Variable[], opts: AdamOptions = {}) {
    super(variables, ['m', 'v']);
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-8;
    checkRange('beta1', this.beta1, 0, 1, true);
    checkRange('beta2', this.beta2, 0, 1, true);
    if (!(this.epsilon > 0))
      throw invalidArgument(`Optimizer option 'epsilon' must be > 0, got ${this.epsilon}.`);
    this.weightDecay = opts.weightDecay ?? 0;
    checkRange('weightDecay', this.weightDecay, 0, 1);
    this.decoupled = (opts.weightDecayMode ?? 'coupled') === 'decoupled';
  }

  apply(grads: readonly tf.Tensor[], lr: number): void {
    this.checkGrads(grads, lr);
    const t = this.step + 1;
    const correction1 = 1 - this.beta1 ** t;
    const correction2 = 1 - this.beta2 ** t;
    tf.tidy(() => {
      this.variables.forEach((w, i) => {
        let g = grads[i];
        if (this.weightDecay > 0 && !this.decoupled) g = tf.add(g, tf.mul(w, this.weightDecay));
        const m = tf.add(tf.mul(this.slots.m[i], this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.slots.v[i], this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        this.slots.m[i].assign(m);
        this.slots.v[i].assign(v);
        const denom = tf.add(tf.sqrt(tf.div(v, correction2)), this.epsilon);
        let next = tf.sub(w, tf.mul(tf.div(m, denom), lr / correction1));
        if (this.weightDecay > 0 && this.decoupled) next = tf.sub(next, tf.mul(w, lr * this.weightDecay));
        w.assign(next);
      });
    });
    this.step++;
  }
}

export interface OptimizerConfig extends SgdOptions, AdamOptions {
  kind: OptimizerName;
}

export function createOptimizer(variables: readonly tf.Variable[], config: OptimizerConfig): Optimizer {
  switch (config.kind) {
    case 'sgd':
      return new SgdOptimizer(variables, config);
    case 'adam':
      return new AdamOptimizer(variables, config);
  }
}
