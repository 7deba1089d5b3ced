import { invalidArgument } from '../errors.js';
import type { Schema } from '../util/schema.js';
import { gradCam } from './grad-cam.js';
import { integratedGradients } from './integrated-gradients.js';
import { occlusion } from './occlusion.js';
import { gradientXInput, saliency } from './saliency.js';
import { smoothGrad, smoothGradSquared } from './smoothgrad.js';
import type { AttributionMethod } from './types.js';

/** Every attribution method by its CLI name, in the order listings and figures show them. */
export const METHODS: readonly AttributionMethod<Schema>[] = [
  saliency,
  gradientXInput,
  smoothGrad,
  smoothGradSquared,
  integratedGradients,
  gradCam,
  occlusion,
];

export function getMethod(name: string): AttributionMethod<Schema> {
  const method = METHODS.find((m) => m.name === name);
  if (method === undefined) {
    throw invalidArgument(
      `Unknown explanation method '${name}'. Available: ${METHODS.map((m) => m.name).join(', ')}.`,
    );
  }
  return method;
}
