import * as tf from '@tensorflow/tfjs-core';
import type { RobustnessEvaluation } from '../evaluate/evaluate-robustness.js';
import type { Classifier } from '../models/classifier.js';
import { imageFromValues, perturbationImage } from '../render/pixel-image.js';
import type { ReportGalleryItem } from '../render/node/report-html.js';
import { AMPLIFY } from './attack-shared.js';

/** The report gallery: each kept point's original, adversarial and amplified perturbation, per eps. */
export async function galleryItems(
  classifier: Classifier,
  x: tf.Tensor4D,
  evaluation: RobustnessEvaluation,
): Promise<ReportGalleryItem[]> {
  const [h, w, c] = classifier.inputShape;
  const pixels = h * w * c;
  const indices = [...new Set(evaluation.gallery.map((g) => g.index))];
  const originals = new Map<number, Float32Array>();
  for (const i of indices) {
    const row = tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]);
    originals.set(i, (await row.data()) as Float32Array);
    row.dispose();
  }
  return evaluation.gallery.map((g) => {
    const original = originals.get(g.index) ?? new Float32Array(pixels);
    const epsResult = evaluation.perEps.find((r) => r.eps === g.eps);
    return {
      index: g.index,
      eps: g.eps,
      attack: epsResult && epsResult.brokenBy[g.index] >= 0 ? g.attack : null,
      label: evaluation.labels[g.index],
      cleanPrediction: evaluation.cleanPredictions[g.index],
      adversarialPrediction: g.prediction,
      original: imageFromValues(original, [h, w, c], classifier.bounds),
      adversarial: imageFromValues(g.adversarial, [h, w, c], classifier.bounds),
      perturbation: perturbationImage(original, g.adversarial, [h, w, c], classifier.bounds, AMPLIFY),
    };
  });
}
