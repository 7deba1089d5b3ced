import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument } from '../../errors.js';
import { Rng } from '../../util/rng.js';
import { pastePatch, planTensors } from './paste-patch.js';
import {
  drawPlacements,
  patchMask,
  PATCH_SHAPES,
  renderPlan,
  type PatchShape,
  type Placement,
  type PlacementOptions,
} from './placement.js';

export interface ApplyPatchOptions extends PlacementOptions {
  /** The patch's outline (default 'circle', as trainPatch's); use the shape it was trained with. */
  shape?: PatchShape;
  /** Seeds random positions, scales and rotations (default 0). */
  seed?: number;
}

/**
 * Pastes `patch` [s, s, c] onto every image of `images` [n, h, w, c] (Brown et al. 2017's operator
 * A(p, x, l, t)): scaled by `scale` (the placed side is scale * s pixels), rotated by `rotation` degrees and
 * put at `position` ('random': uniform over the places where it lies inside the image), with bilinear
 * resampling. Each output pixel is a convex mix of the image and the patch, so values stay within the bounds
 * both are in. Differentiable with respect to the patch (gradients flow on every backend, wasm included).
 * Returns a new tensor; the inputs are not disposed.
 *
 * @example applyPatch(x, patch, { scale: [0.8, 1.2], rotation: [-22.5, 22.5], seed: 1 })
 */
export function applyPatch(
  images: tf.Tensor4D,
  patch: tf.Tensor3D,
  options: ApplyPatchOptions = {},
): tf.Tensor4D {
  const shape = checkShape(options.shape ?? 'circle');
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw invalidArgument(`seed must be an integer, got ${seed}.`);
  checkPatchFits(images, patch);
  const placements = drawPlacements(
    images.shape[0],
    imageSize(images),
    patch.shape[0],
    options,
    new Rng(seed),
  );
  return pasteAt(images, patch, placements, shape);
}

/** applyPatch with placements already drawn (training and evaluation draw them from their own Rng). */
export function pasteAt(
  images: tf.Tensor4D,
  patch: tf.Tensor3D,
  placements: readonly Placement[],
  shape: PatchShape,
): tf.Tensor4D {
  const side = patch.shape[0];
  const plan = planTensors(renderPlan(placements, imageSize(images), side, patchMask(side, shape)));
  try {
    return pastePatch(images, patch, plan);
  } finally {
    plan.dispose();
  }
}

export function checkShape(shape: PatchShape): PatchShape {
  if (!PATCH_SHAPES.includes(shape)) {
    throw invalidArgument(`shape must be one of ${PATCH_SHAPES.join(', ')}; got ${JSON.stringify(shape)}.`);
  }
  return shape;
}

export function checkPatchFits(images: tf.Tensor4D, patch: tf.Tensor3D): void {
  if (images.rank !== 4)
    throw invalidArgument(`images must be a batch [n, h, w, c], got shape [${images.shape}].`);
  const [s1, s2, c] = patch.shape;
  if (patch.rank !== 3 || s1 !== s2 || s1 < 1) {
    throw invalidArgument(`patch must be a square image [side, side, channels], got shape [${patch.shape}].`);
  }
  if (c !== images.shape[3]) {
    throw invalidArgument(`patch has ${c} channels but the images have ${images.shape[3]}.`);
  }
}

function imageSize(images: tf.Tensor4D): { height: number; width: number } {
  return { height: images.shape[1], width: images.shape[2] };
}
