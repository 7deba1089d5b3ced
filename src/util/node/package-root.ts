import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdvkitError } from '../../errors.js';

let cachedRoot: string | undefined;

/**
 * The advkit package root: the nearest ancestor of this file whose package.json is named "advkit".
 * Works from src/ (tests, tsx) and from dist/ (the published package).
 */
export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      const parsed: unknown = JSON.parse(readFileSync(pkg, 'utf8'));
      if (typeof parsed === 'object' && parsed !== null && 'name' in parsed && parsed.name === 'advkit') {
        cachedRoot = dir;
        return dir;
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new AdvkitError('INTERNAL', 'Cannot find the advkit package root (package.json).');
    dir = parent;
  }
}
