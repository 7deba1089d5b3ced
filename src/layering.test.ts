import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layers of docs/architecture.md, lowest first: a module may import from its own folder and from lower
 * layers, never from a higher layer or a sibling of its own layer. The entry points (index.ts, node.ts,
 * browser.ts) gather everything and are exempt; tests and test utilities may reach anywhere.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts', 'version.ts'],
  ['util'],
  ['backend'],
  ['data', 'models', 'optim'],
  ['attacks'],
  ['evaluate', 'train', 'explain', 'defend'],
  ['render'],
  ['tasks'],
  // The public entry points gather every layer; only surfaces may import them.
  ['index.ts', 'node.ts', 'browser.ts'],
  // The server and the playground are surfaces; the CLI is above them, since `advkit serve` and `advkit worker` start one.
  ['server', 'web'],
  ['cli'],
];
const ENTRY_POINTS = new Set(['index.ts', 'node.ts', 'browser.ts']);
/** Pairs that the layers would allow but the design forbids. */
const FORBIDDEN: readonly [string, string][] = [['explain', 'attacks']];

const src = path.dirname(fileURLToPath(import.meta.url));

function layerOf(top: string): number {
  const i = LAYERS.findIndex((names) => names.includes(top));
  if (i < 0) throw new Error(`src/${top} is in no layer: add it to LAYERS and docs/architecture.md`);
  return i;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'test-utils' ? [] : sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('layering', () => {
  it('no module imports from a higher layer or a sibling of its own layer', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(src)) {
      const rel = path.relative(src, file);
      const top = rel.split(path.sep)[0];
      if (ENTRY_POINTS.has(top)) continue;
      for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = path.relative(src, path.resolve(path.dirname(file), m[1]));
        const targetTop = target.split(path.sep)[0].replace(/\.js$/, '.ts');
        if (targetTop === top) continue;
        const forbidden = FORBIDDEN.some(([a, b]) => a === top && b === targetTop);
        if (forbidden || layerOf(targetTop) >= layerOf(top)) violations.push(`${rel} imports ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });
});
