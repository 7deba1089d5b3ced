import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (tests only). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Shared datasets: $ADVKIT_DATA, else ../shared/datasets next to the repository. */
export const dataDir = process.env.ADVKIT_DATA ?? path.resolve(repoRoot, '../shared/datasets');

/** The shared pretrained models folder, next to the datasets. */
export const sharedModelsDir = path.resolve(dataDir, '../models');
