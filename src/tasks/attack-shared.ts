import * as tf from '@tensorflow/tfjs-core';
import type { AttackResult } from '../attacks/run-attack.js';
import type { Norm } from '../attacks/types.js';
import { AdvkitError } from '../errors.js';
import type { Model } from '../models/model.js';
import { imageFromValues, perturbationImage, type PixelImage } from '../render/pixel-image.js';
import { budgetText, type Budget } from './budgets.js';
import { flagFor } from './reproduce.js';

/** A result's budget as the user wrote it ('8/255'), or 'none' for a minimal attack run without one. */
export function epsText(result: AttackResult, budgets: readonly Budget[] | undefined): string {
  return result.eps === null ? 'none' : budgetText(result.eps, budgets);
}

/** 'eps 8/255', or what a minimal attack without a budget did. */
export function budgetLabel(result: AttackResult, budgets: readonly Budget[] | undefined): string {
  return result.eps === null ? 'smallest found' : `eps ${epsText(result, budgets)}`;
}

export interface Top1 {
  index: number;
  confidence: number;
}

/** Top class and its softmax probability per example, in batches. */
export async function top1(classifier: Model, x: tf.Tensor4D, batchSize: number): Promise<Top1[]> {
  const out: Top1[] = [];
  for (let start = 0; start < x.shape[0]; start += batchSize) {
    const size = Math.min(batchSize, x.shape[0] - start);
    const [values, indices] = tf.tidy(() => {
      const probs = classifier.predict(tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1]));
      return [tf.max(probs, 1), tf.argMax(probs, 1)];
    });
    const [v, i] = await Promise.all([values.data(), indices.data()]);
    values.dispose();
    indices.dispose();
    for (let k = 0; k < size; k++) out.push({ index: i[k], confidence: v[k] });
  }
  return out;
}

export function className(classifier: Model, index: number): string {
  return classifier.classNames[index] ?? String(index);
}

export const NORM_LABEL: Record<Norm, string> = { linf: 'Linf', l2: 'L2', l1: 'L1' };

/** 'Linf 0.0314 · L2 2.95' (the attack's norm first; L1 too when it is the norm). */
export function distanceText(result: AttackResult, i: number, norm: Norm): string {
  const d = result.distances;
  const shown: Norm[] =
    norm === 'l1' ? ['l1', 'l2', 'linf'] : norm === 'l2' ? ['l2', 'linf'] : ['linf', 'l2'];
  return shown.map((n) => `${NORM_LABEL[n]} ${d[n][i].toPrecision(3)}`).join(' · ');
}

export function percent(v: number): string {
  return `${(100 * v).toFixed(1)}%`;
}

/** The three pictures of example i: original, adversarial, perturbation x10. */
export function examplePictures(
  classifier: Model,
  clean: Float32Array,
  adversarial: Float32Array,
  i: number,
): { original: PixelImage; adversarial: PixelImage; perturbation: PixelImage } {
  const shape = classifier.inputShape;
  const size = shape[0] * shape[1] * shape[2];
  const c = clean.subarray(i * size, (i + 1) * size);
  const a = adversarial.subarray(i * size, (i + 1) * size);
  return {
    original: imageFromValues(c, shape, classifier.bounds),
    adversarial: imageFromValues(a, shape, classifier.bounds),
    perturbation: perturbationImage(c, a, shape, classifier.bounds, AMPLIFY),
  };
}

/** How much the perturbation panels are amplified around mid-gray. */
export const AMPLIFY = 10;

/** The adversarial inputs of a result run with keepAdversarial (the default). */
export function adversarialOf(result: AttackResult): tf.Tensor4D {
  if (result.adversarial === null) {
    throw new AdvkitError(
      'INTERNAL',
      'The attack result holds no adversarial inputs (keepAdversarial was off).',
    );
  }
  return result.adversarial;
}

/** The parameters as the flags that reproduce them: '--steps 40 --rel-step-size 0.0333 ...'. */
export function flagLine(params: Readonly<Record<string, unknown>>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${flagFor(k)} ${typeof v === 'number' ? Number(v.toPrecision(4)) : String(v)}`);
  return parts.length === 0 ? 'no parameters' : parts.join(' ');
}
