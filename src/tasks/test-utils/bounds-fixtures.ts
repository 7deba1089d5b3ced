import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundledModelDir, type BundledModelName } from '../../models/node/package-root.js';

/** One network saved three times, with inputs in [0, 1], [-1, 1] and [0, 255]. */
export interface BoundsVariants {
  /** The model directories, by their bounds. */
  dirs: { unit: string; signed: string; bytes: string };
  /** What a budget in [0, 1] units is multiplied by in each variant's units. */
  scale: { unit: number; signed: number; bytes: number };
  cleanup: () => void;
}

/**
 * The same weights under other input bounds: each variant's in-model preprocessing maps its own range back to
 * the [0, 1] the network was trained on, so a correct pipeline (data scaled into the model's bounds, budgets
 * in the model's units) gives the same accuracy and robust accuracy through every variant.
 */
export function boundsVariants(name: BundledModelName = 'mnist-cnn'): BoundsVariants {
  const root = mkdtempSync(path.join(os.tmpdir(), 'advkit-bounds-'));
  const source = bundledModelDir(name);
  const variant = (dirName: string, bounds: [number, number], preprocessing: object): string => {
    const dir = path.join(root, dirName);
    cpSync(source, dir, { recursive: true });
    const metaPath = path.join(dir, 'advkit.json');
    const meta: unknown = JSON.parse(readFileSync(metaPath, 'utf8'));
    writeFileSync(metaPath, JSON.stringify({ ...(meta as object), bounds, preprocessing }, null, 2));
    return dir;
  };
  return {
    dirs: {
      unit: variant('unit', [0, 1], {}),
      // ((x * 0.5) - (-0.5)) / 1 maps [-1, 1] onto [0, 1].
      signed: variant('signed', [-1, 1], { scale: 0.5, mean: [-0.5], std: [1] }),
      bytes: variant('bytes', [0, 255], { scale: 1 / 255 }),
    },
    scale: { unit: 1, signed: 2, bytes: 255 },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}
