import type * as tfl from '@tensorflow/tfjs-layers';
import { invalidArgument } from '../../errors.js';
import { buildCifarCnn } from './cifar-cnn.js';
import { buildLinear } from './linear.js';
import { buildMadryMnistCnn } from './madry-mnist-cnn.js';
import { buildMlp } from './mlp.js';
import { buildMnistCnn } from './mnist-cnn.js';
import type { ArchitectureOptions } from './options.js';
import { buildPreactResnet18 } from './preact-resnet18.js';
import { buildWideResnet } from './wide-resnet.js';

export type { ArchitectureOptions } from './options.js';

const BUILDERS = {
  linear: buildLinear,
  mlp: buildMlp,
  'madry-mnist-cnn': buildMadryMnistCnn,
  'mnist-cnn': buildMnistCnn,
  'cifar-cnn': buildCifarCnn,
  'preact-resnet18': buildPreactResnet18,
  'wide-resnet': buildWideResnet,
} as const satisfies Record<string, (opts: ArchitectureOptions) => tfl.LayersModel>;

export type ArchitectureName = keyof typeof BUILDERS;

/** Names of the built-in architectures. */
export const ARCHITECTURES: readonly ArchitectureName[] = Object.freeze(Object.keys(BUILDERS) as ArchitectureName[]);

export function isArchitectureName(name: string): name is ArchitectureName {
  return Object.prototype.hasOwnProperty.call(BUILDERS, name);
}

/**
 * Builds a freshly initialized network (NHWC input, logits output) from a built-in architecture.
 * The same `seed` (default 0) gives the same initial weights.
 */
export function buildArchitecture(name: string, opts: ArchitectureOptions): tfl.LayersModel {
  if (!isArchitectureName(name)) {
    throw invalidArgument(`Unknown architecture '${name}'. Expected one of: ${ARCHITECTURES.join(', ')}.`, {
      architecture: name,
    });
  }
  return BUILDERS[name](opts);
}
