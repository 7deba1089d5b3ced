import { invalidArgument } from '../errors.js';
import type { Model } from '../models/model.js';

/**
 * The class whose logit is explained: 'predicted' (the model's prediction, the default), 'label' (the true
 * label), a class index or name for every input, or one class index per input (for an adversarial example,
 * explain its original class and its new one with two calls).
 */
export type AttributionTarget = 'predicted' | 'label' | number | string | ArrayLike<number>;

const LISTED = 20;

function classList(model: Model): string {
  const names = model.classNames.slice(0, LISTED).map((name, i) => `${i} ${name}`);
  const more =
    model.numClasses > LISTED ? `, ... (${model.numClasses} classes, indices 0-${model.numClasses - 1})` : '';
  return names.join(', ') + more;
}

/** A class given by index or name (case-insensitive); an unknown one is an error that lists the classes. */
export function classIndex(model: Model, target: number | string): number {
  if (typeof target === 'number' || /^\d+$/.test(target.trim())) {
    const index = Number(target);
    if (Number.isInteger(index) && index >= 0 && index < model.numClasses) return index;
    throw invalidArgument(
      `Target class ${target} does not exist: the model has classes ${classList(model)}.`,
    );
  }
  const wanted = target.trim().toLowerCase();
  const index = model.classNames.findIndex((name) => name.toLowerCase() === wanted);
  if (index < 0)
    throw invalidArgument(`Unknown target class '${target}'. The model's classes: ${classList(model)}.`);
  return index;
}

/** One target class per input. */
export function resolveTargets(
  model: Model,
  target: AttributionTarget,
  predictions: Int32Array,
  labels: ArrayLike<number> | undefined,
): Int32Array {
  const n = predictions.length;
  if (target === 'predicted') return predictions.slice();
  if (target === 'label') {
    if (labels === undefined) throw invalidArgument("target 'label' needs the inputs' labels.");
    if (labels.length !== n) throw invalidArgument(`Got ${labels.length} labels for ${n} inputs.`);
    return Int32Array.from(labels, (l) => classIndex(model, l));
  }
  if (typeof target === 'number' || typeof target === 'string')
    return new Int32Array(n).fill(classIndex(model, target));
  if (target.length !== n)
    throw invalidArgument(`Got ${target.length} target classes for ${n} inputs; give one per input.`);
  return Int32Array.from(target, (t) => classIndex(model, t));
}
