import type * as tf from '@tensorflow/tfjs-core';
import { getAttack } from '../attacks/registry.js';
import { runAttack, type AttackProgress } from '../attacks/run-attack.js';
import type { Attack, Norm } from '../attacks/types.js';
import { invalidArgument } from '../errors.js';
import type { Model } from '../models/model.js';
import { fieldDefault, type Schema } from '../util/schema.js';

/** A model to compare, under the name the table shows. */
export interface ComparedModel {
  name: string;
  classifier: Model;
  /**
   * The same examples in this model's own input units, for a model whose bounds differ from the first
   * model's (a [-1, 1] or [0, 255] model next to a [0, 1] one); its budgets are then scaled by the ratio of
   * the ranges, so every row measures the same images under the same perturbations. Default: `options.x`.
   */
  x?: tf.Tensor4D;
}

/** An attack of the comparison: a registry name or an attack, with parameters (defaults otherwise). */
export interface CompareAttackSpec {
  attack: string | Attack<Schema>;
  params?: Readonly<Record<string, unknown>>;
  /** Column label; default the name in capitals with its step count ('FGSM', 'PGD-40'). */
  label?: string;
}

export interface CompareOptions {
  /** Clean inputs [n, h, w, c] within the first model's bounds (the caller keeps ownership). */
  x: tf.Tensor4D;
  /** True labels, one per example. */
  labels: ArrayLike<number>;
  /** 'linf' by default. */
  norm?: Norm;
  /** The budgets in the first model's input units; every attack runs at each. */
  eps: readonly number[];
  /** Untargeted attacks to run; default FGSM and PGD with their default parameters. */
  attacks?: readonly (string | CompareAttackSpec)[];
  /** Seed of every attack's random choices (default 0); the same for every model. */
  seed?: number;
  /** Examples per forward/backward pass (default 128). */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: CompareProgress) => void;
}

export interface CompareProgress {
  model: string;
  attack: string;
  /** Overall fraction 0..1 over every model and attack. */
  fraction: number;
}

/** An attack as it ran: parameters with the defaults filled in. */
export interface ComparedAttack {
  name: string;
  label: string;
  title: string;
  params: Readonly<Record<string, unknown>>;
}

export interface AttackAccuracy {
  /** The attack's label (unique within the comparison). */
  attack: string;
  /** Accuracy on its adversarial inputs, one per eps (in the order of `eps`). */
  accuracy: number[];
  /** Gradient evaluations per example, one per eps. */
  gradientsPerExample: number[];
  seconds: number;
}

export interface ModelRobustness {
  name: string;
  cleanAccuracy: number;
  /** One entry per attack, in the order of the comparison's `attacks`. */
  attacks: AttackAccuracy[];
  /**
   * Robust accuracy per eps: the fraction of examples classified correctly when clean and under every attack
   * (the per-example worst case, as AutoAttack counts it).
   */
  worstCase: number[];
  seconds: number;
}

export interface RobustnessComparison {
  norm: Norm;
  eps: number[];
  /** Examples evaluated. */
  n: number;
  seed: number;
  attacks: ComparedAttack[];
  models: ModelRobustness[];
}

const DEFAULT_ATTACKS = ['fgsm', 'pgd'] as const;

/**
 * Clean and adversarial accuracy of several models on the same inputs, with the same attacks, budgets and
 * seed, so that the rows can be read against each other (a standard model next to an adversarially trained
 * one). Every attack runs untargeted through runAttack, which projects onto the eps-ball and scores.
 */
export async function compareRobustness(
  models: readonly ComparedModel[],
  options: CompareOptions,
): Promise<RobustnessComparison> {
  assertComparable(models);
  checkInputs(models, options.x);
  const eps = checkEps(options.eps);
  const norm = options.norm ?? 'linf';
  const specs = resolveAttacks(options.attacks ?? DEFAULT_ATTACKS, norm);
  const seed = options.seed ?? 0;
  const attacks: ComparedAttack[] = [];
  const rows: ModelRobustness[] = [];
  for (const [m, model] of models.entries()) {
    const t0 = Date.now();
    const row: ModelRobustness = {
      name: model.name,
      cleanAccuracy: 0,
      attacks: [],
      worstCase: [],
      seconds: 0,
    };
    // Per eps, 1 where the example is still classified correctly (clean and under every attack so far).
    let robust: Int32Array[] = [];
    const ratio = range(model.classifier) / range(models[0].classifier);
    for (const [a, spec] of specs.entries()) {
      const run = await runAttack(model.classifier, spec.attack, {
        x: model.x ?? options.x,
        labels: options.labels,
        eps: eps.map((e) => e * ratio),
        norm,
        params: spec.params,
        batchSize: options.batchSize,
        seed,
        keepAdversarial: false,
        signal: options.signal,
        onProgress: (p: AttackProgress) =>
          options.onProgress?.({
            model: model.name,
            attack: spec.label,
            fraction: (m * specs.length + a + p.fraction) / (models.length * specs.length),
          }),
      });
      const { labels, cleanPredictions } = run;
      if (m === 0) {
        attacks.push({
          name: spec.attack.name,
          label: spec.label,
          title: spec.attack.title,
          params: run.params,
        });
      }
      if (a === 0) {
        row.cleanAccuracy = run.cleanAccuracy;
        robust = eps.map(() => labels.map((y, i) => Number(cleanPredictions[i] === y)));
      }
      run.results.forEach((result, e) => {
        robust[e] = robust[e].map((ok, i) => ok & Number(result.predictions[i] === labels[i]));
      });
      row.attacks.push({
        attack: spec.label,
        accuracy: run.results.map((r) => r.accuracy),
        gradientsPerExample: run.results.map((r) => r.cost.gradients / labels.length),
        seconds: run.results.reduce((s, r) => s + r.seconds, 0),
      });
      run.dispose();
    }
    row.worstCase = robust.map((flags) => fraction(flags));
    row.seconds = (Date.now() - t0) / 1000;
    rows.push(row);
  }
  return { norm, eps, n: options.x.shape[0], seed, attacks, models: rows };
}

function fraction(flags: Int32Array): number {
  let s = 0;
  for (const f of flags) s += f;
  return flags.length === 0 ? 0 : s / flags.length;
}

/**
 * Models whose rows can be compared: unique names, the same input shape and the same classes. Call it before
 * preparing inputs to refuse a comparison early; compareRobustness calls it too.
 */
export function assertComparable(models: readonly ComparedModel[]): void {
  if (models.length === 0) throw invalidArgument('compareRobustness needs at least one model.');
  const names = new Set<string>();
  for (const { name } of models) {
    if (name.trim() === '') throw invalidArgument('Every compared model needs a non-empty name.');
    if (names.has(name)) throw invalidArgument(`Two compared models are named '${name}'; give unique names.`);
    names.add(name);
  }
  const [first, ...rest] = models;
  const ref = first.classifier;
  for (const { name, classifier: c } of rest) {
    const differs = (what: string, a: string, b: string): Error =>
      invalidArgument(
        `Models '${first.name}' and '${name}' cannot be compared on the same data: ${what} ${a} vs ${b}.`,
      );
    if (c.inputShape.join('x') !== ref.inputShape.join('x')) {
      throw differs('input shapes', ref.inputShape.join('x'), c.inputShape.join('x'));
    }
    if (c.numClasses !== ref.numClasses) {
      throw differs('class counts', String(ref.numClasses), String(c.numClasses));
    }
    if (c.classNames.join('\n') !== ref.classNames.join('\n')) {
      throw differs('class names', ref.classNames.join(','), c.classNames.join(','));
    }
  }
}

/** A model with other bounds must come with the same examples in its own units (same shape). */
function checkInputs(models: readonly ComparedModel[], x: tf.Tensor4D): void {
  const [first, ...rest] = models;
  for (const m of rest) {
    if (m.x === undefined && m.classifier.bounds.join(',') !== first.classifier.bounds.join(',')) {
      throw invalidArgument(
        `Models '${first.name}' and '${m.name}' have other input bounds ([${first.classifier.bounds.join(', ')}] ` +
          `vs [${m.classifier.bounds.join(', ')}]): give '${m.name}' the same examples in its own units (x).`,
      );
    }
    if (m.x !== undefined && m.x.shape.join('x') !== x.shape.join('x')) {
      throw invalidArgument(
        `The inputs of '${m.name}' have shape ${m.x.shape.join('x')}; the comparison's have ${x.shape.join('x')}.`,
      );
    }
  }
}

function range(model: Model): number {
  return model.bounds[1] - model.bounds[0];
}

function checkEps(eps: readonly number[]): number[] {
  if (eps.length === 0) throw invalidArgument('eps is an empty list; give at least one budget.');
  for (const e of eps) {
    if (typeof e !== 'number' || !Number.isFinite(e) || e < 0) {
      throw invalidArgument(`eps must be finite numbers >= 0 in input units, got ${String(e)}.`);
    }
  }
  return [...eps];
}

interface ResolvedSpec {
  attack: Attack<Schema>;
  params: Readonly<Record<string, unknown>> | undefined;
  label: string;
}

function resolveAttacks(list: readonly (string | CompareAttackSpec)[], norm: Norm): ResolvedSpec[] {
  if (list.length === 0) throw invalidArgument('attacks is an empty list; give at least one attack.');
  const specs = list.map((item): ResolvedSpec => {
    const spec = typeof item === 'string' ? { attack: item } : item;
    const attack = typeof spec.attack === 'string' ? getAttack(spec.attack) : spec.attack;
    if (!attack.norms.includes(norm)) {
      throw invalidArgument(
        `${attack.name} does not support the ${norm} norm; it supports ${attack.norms.join(', ')}.`,
      );
    }
    return { attack, params: spec.params, label: spec.label ?? defaultLabel(attack, spec.params) };
  });
  const labels = new Set<string>();
  for (const s of specs) {
    if (labels.has(s.label)) {
      throw invalidArgument(`Two attacks are labelled '${s.label}'; give each a distinct label.`);
    }
    labels.add(s.label);
  }
  return specs;
}

/** 'FGSM', 'PGD-40': the name in capitals, with the step count of an iterative attack. */
function defaultLabel(attack: Attack<Schema>, params: Readonly<Record<string, unknown>> | undefined): string {
  const field = attack.schema.steps;
  const given = params?.steps;
  const steps = typeof given === 'number' ? given : field === undefined ? undefined : fieldDefault(field);
  return attack.name.toUpperCase() + (typeof steps === 'number' ? `-${steps}` : '');
}
