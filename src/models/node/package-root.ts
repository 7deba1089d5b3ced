import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { AdvkitError } from '../../errors.js';
import { packageRoot } from '../../util/node/package-root.js';


/** Names of the models shipped in <package root>/models. */
export type BundledModelName =
  | 'mnist-cnn'
  | 'mnist-cnn-robust'
  | 'cifar-cnn'
  | 'cifar-cnn-robust'
  | 'cifar-linear'
  | 'cifar-linear-robust'
  | 'cifar-cnn-noise-0.25';

/** Directory of a model shipped with advkit: <package root>/models/<name>. */
export function bundledModelDir(name: BundledModelName): string {
  return path.join(packageRoot(), 'models', name);
}

/**
 * A model directory as the user gave it, or the name of a bundled model (models/<name>) when no such path
 * exists; `flag` names the option in the error.
 */
export function resolveModelDir(value: string, flag = '--model'): string {
  if (existsSync(value)) return value;
  const bundledRoot = path.join(packageRoot(), 'models');
  const bundled = readdirSync(bundledRoot).filter((name) => existsSync(path.join(bundledRoot, name, 'model.json')));
  if (bundled.includes(value)) return path.join(bundledRoot, value);
  throw new AdvkitError(
    'NOT_FOUND',
    `${flag}: no model directory '${value}' (resolved: ${path.resolve(value)}, which does not exist) and ` +
      `no bundled model of that name (bundled: ${bundled.join(', ')}).`,
  );
}
