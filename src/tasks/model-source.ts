import path from 'node:path';
import { DefendedModel, type DefenseGradients } from '../defend/transforms/defended-model.js';
import { parseDefense } from '../defend/transforms/parse-defense.js';
import type { Classifier } from '../models/classifier.js';
import type { Model } from '../models/model.js';
import { resolveModelDir } from '../models/node/package-root.js';
import { loadCachedClassifier } from './model-cache.js';

/** A model as a task loaded it: the classifier and where it came from, for reports and reproduce lines. */
export interface ModelSource {
  model: Classifier;
  /**
   * What the task predicts with and attacks: `model` itself, or `model` behind the spec's input-transform
   * defense (`defense`). Disposing `model` is enough.
   */
  target: Model;
  /** The defense in front of the model, when the spec asked for one. */
  defense?: DefendedModel;
  /** The directory it was loaded from. */
  dir: string;
  /** The name shown in outputs: the bundled name or the directory's base name. */
  name: string;
  /** The reference as the spec gave it (or the default's name). */
  ref: string;
}

export interface OpenModelOptions {
  defaultName: string;
  labels?: string;
  /** The option that names the model, for errors (default '--model'). */
  flag?: string;
  /** An input-transform defense chain to put in front of the model (`jpeg:75,bits:4`); 'none' or absent: none. */
  defense?: string;
  /** Seed of a random defense's draws (default 0). */
  defenseSeed?: number;
  /** How gradients cross the defense's non-differentiable transforms (default 'bpda', the adaptive attacker's). */
  defenseGradients?: DefenseGradients;
}

/**
 * Resolves a spec's model reference (a directory, or the name of a bundled model: every task takes both) and
 * loads it, behind the spec's defense when it names one (checked before anything is loaded, so a mistyped
 * chain fails fast with the list of known transforms).
 */
export async function openModel(ref: string | undefined, opts: OpenModelOptions): Promise<ModelSource> {
  const transforms = opts.defense === undefined ? [] : parseDefense(opts.defense);
  const given = ref ?? opts.defaultName;
  const dir = resolveModelDir(given, opts.flag ?? '--model');
  const model = await loadCachedClassifier(dir, opts.labels);
  const defense =
    transforms.length === 0
      ? undefined
      : new DefendedModel(model, transforms, {
          seed: opts.defenseSeed ?? 0,
          gradients: opts.defenseGradients ?? 'bpda',
          disposeModel: false,
        });
  return {
    model,
    target: defense ?? model,
    defense,
    dir,
    name: path.basename(path.resolve(dir)),
    ref: given,
  };
}
